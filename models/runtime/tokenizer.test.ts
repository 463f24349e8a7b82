import { describe, expect, it } from "vitest";
import { houseStyleDescription } from "../catalogue/house-style.js";
import { WordTokenizer } from "./tokenizer.js";

const vocab = ["<pad>", "<bos>", "<eos>", "<unk>", ",", ".", "a", "an", "band", "emerald", "gold", "in", "on",
  "polished", "ring", "setting", "set", "slim", "solitaire", "with", "yellow"];
const tokenizer = new WordTokenizer({ format: "facet-word-tokenizer/1", vocab, pad_id: 0, bos_id: 1, eos_id: 2, unk_id: 3 });

describe("WordTokenizer", () => {
  it("round-trips house-style text exactly", () => {
    const text = houseStyleDescription({
      category: "ring", metal: "yellow gold", gemstone: "emerald", finish: "polished", setting: "solitaire", style: "slim band",
    });
    const ids = tokenizer.encode(text);
    expect(ids).not.toContain(tokenizer.unkId);
    expect(tokenizer.decode(ids)).toBe(text);
  });

  it("maps unknown words to <unk> and stops decoding at <eos>", () => {
    expect(tokenizer.encode("Gold ring, sparkly!")).toEqual([10, 14, 4, 3, 3]);
    expect(tokenizer.decode([14, 2, 10])).toBe("Ring");
  });

  it("skips special tokens and punctuation spacing", () => {
    expect(tokenizer.decode([1, 20, 10, 0, 14, 4, 12, 6, 17, 8, 5])).toBe("Yellow gold ring, on a slim band.");
  });
});

describe("WordTokenizer with slots", () => {
  const slotted = new WordTokenizer({
    format: "facet-word-tokenizer/2",
    vocab: ["<pad>", "<bos>", "<eos>", "<unk>", ".", "<category>", "<gemstone>", "<metal>", "a", "set", "with"],
    pad_id: 0, bos_id: 1, eos_id: 2, unk_id: 3,
    slots: { category: 5, gemstone: 6, metal: 7 },
  });

  it("fills each slot with its attribute's label and writes 'an' before a vowel", () => {
    const ids = [7, 5, 9, 10, 8, 6, 4, 2];
    expect(slotted.decode(ids, { metal: "sterling silver", category: "ring", gemstone: "emerald" })).toBe("Sterling silver ring set with an emerald.");
    expect(slotted.decode(ids, { metal: "rose gold", category: "ring", gemstone: "ruby" })).toBe("Rose gold ring set with a ruby.");
    expect(slotted.attributeOf(6)).toBe("gemstone");
    expect(slotted.attributeOf(8)).toBeUndefined();
  });

  it("leaves out a slot whose attribute is not stated", () => {
    expect(slotted.decode([7, 5, 4, 2], { category: "pendant" })).toBe("Pendant.");
  });
});
