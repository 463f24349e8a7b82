import { z } from "zod";

const TOKEN_PATTERN = /[a-z0-9]+|[^\sa-z0-9]/g;
const NO_SPACE_BEFORE = new Set([",", ".", ";", ":", "!", "?", ")"]);

export const tokenizerFileSchema = z.object({
  format: z.literal("facet-word-tokenizer/1"),
  vocab: z.array(z.string().min(1)).min(4),
  pad_id: z.number().int().nonnegative(),
  bos_id: z.number().int().nonnegative(),
  eos_id: z.number().int().nonnegative(),
  unk_id: z.number().int().nonnegative(),
});
export type TokenizerFile = z.infer<typeof tokenizerFileSchema>;

/**
 * The word tokenizer of a bundle (models/FORMAT.md): lower-cased words and single
 * punctuation marks. House-style text round-trips exactly through encode/decode.
 */
export class WordTokenizer {
  readonly vocab: readonly string[];
  readonly padId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
  private readonly ids: Map<string, number>;

  constructor(file: TokenizerFile) {
    this.vocab = file.vocab;
    this.padId = file.pad_id;
    this.bosId = file.bos_id;
    this.eosId = file.eos_id;
    this.unkId = file.unk_id;
    this.ids = new Map(file.vocab.map((token, id) => [token, id]));
  }

  get size(): number {
    return this.vocab.length;
  }

  /** Token ids of `text`, without `<bos>`/`<eos>`. */
  encode(text: string): number[] {
    return (text.toLowerCase().match(TOKEN_PATTERN) ?? []).map((t) => this.ids.get(t) ?? this.unkId);
  }

  /** Text of generated ids; stops at `<eos>`, skips other special tokens. */
  decode(ids: readonly number[]): string {
    const special = new Set([this.padId, this.bosId, this.unkId]);
    let text = "";
    for (const id of ids) {
      if (id === this.eosId) break;
      if (special.has(id)) continue;
      const token = this.vocab[id];
      if (token === undefined) continue;
      if (text === "" || NO_SPACE_BEFORE.has(token) || text.endsWith("(")) text += token;
      else text += ` ${token}`;
    }
    return text.charAt(0).toUpperCase() + text.slice(1);
  }
}
