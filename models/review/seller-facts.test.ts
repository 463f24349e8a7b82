import { describe, expect, it } from "vitest";
import { contradictions, readSellerFacts } from "./seller-facts.js";

const facts = (text: string, category?: string) => readSellerFacts({ texts: [text], fields: { category } });

describe("readSellerFacts", () => {
  it("reads metal, purity and gemstones in the catalogue's languages", () => {
    expect(facts("Handmade 925 silver ring")).toMatchObject({ category: "ring", metals: ["sterling silver"], purity: ["925"] });
    expect(facts("Pendientes de oro 18k con zafiros")).toMatchObject({ category: "earrings", metals: ["yellow gold", "white gold", "rose gold"], gemstones: ["sapphire"] });
    expect(facts("Bague en or blanc et diamants")).toMatchObject({ category: "ring", metals: ["white gold"], gemstones: ["diamond"] });
    expect(facts("Collana in argento con perle")).toMatchObject({ category: "necklace", metals: ["sterling silver"], gemstones: ["pearl"] });
    expect(facts("Ohrringe aus Roségold")).toMatchObject({ category: "earrings", metals: ["rose gold"] });
  });

  it("states nothing where the words are ambiguous", () => {
    expect(facts("Pendant necklace").category).toBeUndefined(); // two categories
    expect(facts("Gold plated silver bracelet").metals).toBeUndefined(); // plated
    expect(facts("Pulsera chapada en oro").metals).toBeUndefined();
    expect(facts("ring or pendant, your choice").metals).toBeUndefined(); // "or" is not French gold here
    expect(facts("A ring, size 7").gemstones).toBeUndefined();
  });

  it("reads 'no stones' as a fact, and prefers the structured category field", () => {
    expect(facts("Simple band, no stones").gemstones).toEqual(["none"]);
    expect(facts("Anillo sin piedras").gemstones).toEqual(["none"]);
    expect(facts("Lovely pendant necklace", "Necklace").category).toBe("necklace");
  });
});

describe("contradictions", () => {
  it("names each attribute the result disagrees on, and what the seller said", () => {
    const seller = facts("18k gold ring with a ruby");
    const found = contradictions(seller, { category: { label: "earrings" }, metal: { label: "sterling silver" }, gemstone: { label: "ruby" } });
    expect(found).toEqual([
      { attribute: "category", predicted: "earrings", seller: ["ring"] },
      { attribute: "metal", predicted: "sterling silver", seller: ["yellow gold", "white gold", "rose gold"] },
    ]);
    expect(contradictions(seller, { category: { label: "ring" }, metal: { label: "rose gold" }, gemstone: { label: "ruby" } })).toEqual([]);
  });

  it("does not compare a head too thinly validated to trust", () => {
    expect(contradictions(facts("sapphire ring"), { gemstone: { label: "diamond", trusted: false } })).toEqual([]);
  });
});
