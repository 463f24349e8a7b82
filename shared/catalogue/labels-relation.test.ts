import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDemoCatalogue } from "../../producers/demo/demo-catalogue-schema.js";
import { createTestDb, type TestDb } from "../../test/helpers/postgres.js";
import { ConfigError } from "../errors/index.js";
import { distinctLabelValues, labelColumns, readLabelledProducts } from "./labels-relation.js";

let t: TestDb;
const ATTRIBUTES = ["category", "metal", "gemstone", "finish", "setting", "style"];
beforeAll(async () => {
  t = await createTestDb();
  await createDemoCatalogue(t.db, t.catalogueSchema);
  await t.db.withSchema(t.catalogueSchema).table("products").insert([
    { id: "a", title: "x", category: "ring", metal: "plata", photo_keys: ["a/0.jpg"], description: "anillo de plata" },
    { id: "b", title: "x", category: "earrings", photo_keys: ["b/0.jpg"] },
  ]);
});
afterAll(async () => {
  await t?.drop();
});

const source = (labels: string) => ({ db: t.db, catalogue: t.ledger.catalogue, labels });

describe("labels relation", () => {
  it("reads the demo marketplace's labels with the catalogue's photos and text", async () => {
    const relation = `${t.catalogueSchema}.product_labels`;
    const columns = await labelColumns(source(relation), ATTRIBUTES);
    expect(columns).toEqual(ATTRIBUTES);
    expect((await distinctLabelValues(source(relation), ["metal"])).metal).toEqual(["plata"]);
    const products = [];
    for await (const p of readLabelledProducts(source(relation), columns, 1)) products.push(p);
    expect(products).toEqual([
      { productId: "a", photoKeys: ["a/0.jpg"], description: "anillo de plata", labels: { category: "ring", metal: "plata", gemstone: null, finish: null, setting: null, style: null } },
      { productId: "b", photoKeys: ["b/0.jpg"], description: null, labels: { category: "earrings", metal: null, gemstone: null, finish: null, setting: null, style: null } },
    ]);
  });

  it("refuses a missing relation, an unknown column and a column that is not text, in one line", async () => {
    await expect(labelColumns(source(`${t.catalogueSchema}.nope`), ATTRIBUTES)).rejects.toThrow(new ConfigError(`labels relation ${t.catalogueSchema}.nope: not found (LABELS_RELATION, --labels-relation)`));
    await t.db.raw(`create view ??.odd_labels as select id as product_id, category, title as colour from ??.products`, [t.catalogueSchema, t.catalogueSchema]);
    await expect(labelColumns(source(`${t.catalogueSchema}.odd_labels`), ATTRIBUTES)).rejects.toThrow(/column colour is not an attribute of the labels map/);
    await t.db.raw(`create view ??.typed_labels as select id as product_id, locked as category from ??.products`, [t.catalogueSchema, t.catalogueSchema]);
    await expect(labelColumns(source(`${t.catalogueSchema}.typed_labels`), ATTRIBUTES)).rejects.toThrow(/column category is boolean; label columns must be text/);
  });
});
