import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../shared/errors/index.js";
import { SYNTHETIC_ATTRIBUTES } from "./synthetic-source.js";
import { labelSets, normaliseRows } from "./label-sets.js";
import { readLabelsMap } from "./labels-map.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "facet-labels-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function mapFile(content: unknown): Promise<string> {
  const file = path.join(tmp, `map-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

describe("the default labels map", () => {
  it("holds the synthetic catalogue's label sets and maps catalogue words in several languages", async () => {
    const map = await readLabelsMap();
    for (const a of SYNTHETIC_ATTRIBUTES) expect(map.labels(a.name)).toEqual(expect.arrayContaining(a.labels));
    expect(map.normalise("metal", "Gold")).toBe("yellow gold");
    expect(map.normalise("metal", "925 silver")).toBe("sterling silver");
    expect(map.normalise("metal", "  PLATA ")).toBe("sterling silver");
    expect(map.normalise("category", "Pendientes")).toBe("earrings");
    expect(map.normalise("gemstone", "Rubí")).toBe("ruby"); // accents folded
    expect(map.normalise("gemstone", "")).toBeNull(); // the source does not say
    expect(map.normalise("metal", "brass")).toBeUndefined();
  });
});

describe("a labels map file", () => {
  it("is refused in one line naming the field, when it maps to a label it does not have", async () => {
    const file = await mapFile({ format: "facet-labels-map/1", attributes: { metal: { labels: ["gold", "silver"], map: { oro: "golden" } } } });
    await expect(readLabelsMap(file)).rejects.toThrow(new ConfigError(`labels map ${file}: attributes.metal.map.oro: "golden" is not one of its labels (gold, silver)`));
  });

  it("is refused with a wrong format, an unknown field or a wrong type", async () => {
    await expect(readLabelsMap(await mapFile({ format: "x", attributes: {} }))).rejects.toThrow(/: format: /);
    await expect(readLabelsMap(await mapFile({ format: "facet-labels-map/1", attributes: { metal: { labels: ["a", "b"], extra: 1 } } }))).rejects.toThrow(/attributes\.metal/);
    await expect(readLabelsMap(await mapFile({ format: "facet-labels-map/1", attributes: { metal: { labels: "gold" } } }))).rejects.toThrow(/attributes\.metal\.labels/);
    await expect(readLabelsMap(await mapFile("{ not json"))).rejects.toThrow(/not valid JSON/);
  });
});

describe("label sets", () => {
  it("refuses, before any photo is read, values the map does not know, naming them and where", async () => {
    const map = await readLabelsMap();
    const rows = [{ metal: "gold" }, { metal: "brass" }, { metal: "brass" }];
    expect(() => normaliseRows(map, rows, (i) => `row ${i + 2}`)).toThrow(/metal "brass" \(2×, first at row 3\)/);
  });

  it("keeps the labels in use, in the map's order, and gives an attribute with one label no head", async () => {
    const map = await readLabelsMap();
    const rows = normaliseRows(map, [{ category: "anillo", gemstone: null }, { category: "collar", gemstone: "zafiro" }], String);
    const sets = labelSets(map, rows, ["category", "gemstone"]);
    expect(sets.attributes).toEqual([{ name: "category", labels: ["ring", "necklace"] }]);
    expect(sets.dropped).toEqual({ gemstone: 'every product that states it says "sapphire"' });
  });
});
