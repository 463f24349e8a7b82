import { z } from "zod";

const TOKEN_PATTERN = /[a-z0-9]+|[^\sa-z0-9]/g;
const NO_SPACE_BEFORE = new Set([",", ".", ";", ":", "!", "?", ")"]);

const base = {
  vocab: z.array(z.string().min(1)).min(4),
  pad_id: z.number().int().nonnegative(),
  bos_id: z.number().int().nonnegative(),
  eos_id: z.number().int().nonnegative(),
  unk_id: z.number().int().nonnegative(),
};

/** `/1`: words only. `/2`: words and slots, one token per attribute whose label decoding fills in. */
export const tokenizerFileSchema = z.discriminatedUnion("format", [
  z.object({ format: z.literal("facet-word-tokenizer/1"), ...base }),
  z.object({ format: z.literal("facet-word-tokenizer/2"), ...base, slots: z.record(z.string().regex(/^[a-z_]+$/), z.number().int().nonnegative()) }),
]);
export type TokenizerFile = z.infer<typeof tokenizerFileSchema>;

/**
 * The word tokenizer of a bundle (models/FORMAT.md): lower-cased words and single punctuation
 * marks, and slots. A slot token stands for an attribute's label: the decoder writes `<metal>
 * <category>`, and decoding fills in the attribute heads' labels, so the text states exactly what
 * the heads say, or leaves an attribute out. House-style text round-trips exactly through
 * encode/decode.
 */
export class WordTokenizer {
  readonly vocab: readonly string[];
  readonly padId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
  /** Attribute → its slot's token id (empty for a words-only tokenizer). */
  readonly slots: ReadonlyMap<string, number>;
  private readonly ids: Map<string, number>;
  private readonly slotOf: Map<number, string>;

  constructor(file: TokenizerFile) {
    this.vocab = file.vocab;
    this.padId = file.pad_id;
    this.bosId = file.bos_id;
    this.eosId = file.eos_id;
    this.unkId = file.unk_id;
    this.ids = new Map(file.vocab.map((token, id) => [token, id]));
    this.slots = new Map(file.format === "facet-word-tokenizer/2" ? Object.entries(file.slots) : []);
    this.slotOf = new Map([...this.slots].map(([attribute, id]) => [id, attribute]));
  }

  get size(): number {
    return this.vocab.length;
  }

  /** The attribute slot `id` stands for, or undefined for a word. */
  attributeOf(id: number): string | undefined {
    return this.slotOf.get(id);
  }

  /** Token ids of `text`, without `<bos>`/`<eos>`. */
  encode(text: string): number[] {
    return (text.toLowerCase().match(TOKEN_PATTERN) ?? []).map((t) => this.ids.get(t) ?? this.unkId);
  }

  /**
   * Text of generated ids; stops at `<eos>`, skips other special tokens. A slot becomes its
   * attribute's label from `fills` (left out when there is none), and an "a" before a filled label
   * that starts with a vowel becomes "an".
   */
  decode(ids: readonly number[], fills: Readonly<Record<string, string>> = {}): string {
    const special = new Set([this.padId, this.bosId, this.unkId]);
    const words: string[] = [];
    for (const id of ids) {
      if (id === this.eosId) break;
      if (special.has(id)) continue;
      const attribute = this.slotOf.get(id);
      if (attribute === undefined) {
        const token = this.vocab[id];
        if (token !== undefined) words.push(token);
        continue;
      }
      const label = fills[attribute];
      if (label === undefined) continue;
      const filled = label.toLowerCase().match(TOKEN_PATTERN) ?? [];
      if (words.at(-1) === "a" && /^[aeiou]/.test(filled[0] ?? "")) words[words.length - 1] = "an";
      words.push(...filled);
    }
    let text = "";
    for (const token of words) {
      if (text === "" || NO_SPACE_BEFORE.has(token) || text.endsWith("(")) text += token;
      else text += ` ${token}`;
    }
    return text.charAt(0).toUpperCase() + text.slice(1);
  }
}
