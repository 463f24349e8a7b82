import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planProduct } from "../../models/catalogue/index.js";
import { createDb, type Db } from "../../shared/db/database.js";
import { PermanentError } from "../../shared/errors/index.js";
import { openWritableObjectStore, type WritableObjectStore } from "../../shared/storage/object-store.js";
import { startS3, type TestS3 } from "../../test/helpers/s3-server.js";
import {
  LOCKED_SHARE,
  UPDATED_WITHIN_DAYS,
  deleteProduct,
  lockProduct,
  markEdited,
  photoExtension,
  planDemoListing,
  seedDemoCatalogue,
  touchProducts,
  type SeedSummary,
} from "./seed-demo-catalogue.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const schema = `facet_demo_test_${randomBytes(4).toString("hex")}`;
// Seed 9 locks two of its first 30 products (3 and 11), so the locked column is exercised both ways.
const SEED = 9;
const COUNT = 30;

interface CatalogueRow {
  product_id: string;
  category: string;
  updated_at: Date;
  photo_keys: string[];
  description: string;
  locked: boolean;
  description_edited_at: Date;
}

let db: Db;
let s3: TestS3;
let store: WritableObjectStore;
let first: SeedSummary;
const progress: SeedSummary[] = [];

const catalogue = (): Promise<CatalogueRow[]> => db.withSchema(schema).table("catalogue").orderBy("product_id").select<CatalogueRow[]>("*");
const products = () => db.withSchema(schema).table("products").orderBy("id").select("*");
const product = async (id: string) => (await db.withSchema(schema).table("products").where({ id }).first()) as Record<string, unknown>;
const seedOnce = () => seedDemoCatalogue({ db, schema, imageStore: store, seed: SEED, products: COUNT, concurrency: 8 });

beforeAll(async () => {
  db = createDb(url, { poolMax: 4 });
  s3 = await startS3();
  await s3.createBucket("demo");
  store = openWritableObjectStore("s3://demo/photos", { ...s3.settings, access: "photos" });
  first = await seedDemoCatalogue({ db, schema, imageStore: store, seed: SEED, products: COUNT, concurrency: 8, onProgress: (p) => progress.push(p) });
});
afterAll(async () => {
  await db?.raw("drop schema if exists ?? cascade", [schema]);
  await db?.destroy();
  await s3?.close();
});

describe("seedDemoCatalogue into Postgres and a real S3 server", () => {
  it("lists every product in the catalogue view as the generator planned it", async () => {
    const rows = await catalogue();
    expect(rows.map((r) => r.product_id)).toEqual(Array.from({ length: COUNT }, (_, i) => `syn-${SEED}-${String(i).padStart(6, "0")}`));
    const { now } = (await db.raw<{ rows: Array<{ now: Date }> }>("select now()")).rows[0] as { now: Date };
    const oldest = now.getTime() - UPDATED_WITHIN_DAYS * 86_400_000;
    for (const [i, row] of rows.entries()) {
      const planned = planProduct(SEED, i);
      const listing = planDemoListing(planned);
      expect(row.category).toBe(planned.attributes.category);
      expect(row.description).toBe(planned.artisanDescription);
      expect(row.locked).toBe(listing.locked);
      expect(row.photo_keys).toHaveLength(planned.photos.length);
      row.photo_keys.forEach((key, n) => expect(key).toMatch(new RegExp(`^${row.product_id}/${n}\\.(jpg|png|webp)$`)));
      expect(row.updated_at.getTime()).toBeLessThanOrEqual(now.getTime());
      expect(row.updated_at.getTime()).toBeGreaterThan(oldest);
      expect(row.description_edited_at.getTime()).toBeLessThan(row.updated_at.getTime());
    }
    expect(rows.filter((r) => r.locked).map((r) => r.product_id)).toEqual([`syn-${SEED}-000003`, `syn-${SEED}-000011`]);
    const titles = (await products()).map((p: { title: string }) => p.title);
    expect(titles.every((t: string) => /^(Gold|White gold|Rose gold|Silver|Copper) (ring|earrings|necklace|bracelet|pendant|brooch)$/.test(t))).toBe(true);

    const photos = rows.reduce((n, r) => n + r.photo_keys.length, 0);
    expect(first).toMatchObject({ products: COUNT, photos, inserted: COUNT, updated: 0, unchanged: 0 });
    expect(first.bytes).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ products: COUNT, photos });
  });

  it("stores every photo, decodable, in the format and size its key and plan name", async () => {
    const rows = await catalogue();
    for (const [i, row] of rows.entries()) {
      const planned = planProduct(SEED, i);
      for (const [n, key] of row.photo_keys.entries()) {
        const meta = await sharp(await store.get(key)).metadata();
        expect(meta.format).toBe(key.endsWith(".jpg") ? "jpeg" : key.split(".").pop());
        expect([meta.width, meta.height]).toEqual([planned.photos[n]?.width, planned.photos[n]?.height]);
      }
    }
  });

  it("seeding again changes nothing: same rows, same timestamps, same photo bytes", async () => {
    const rowsBefore = await products();
    const key = (rowsBefore[0] as { photo_keys: string[] }).photo_keys[0] as string;
    const bytesBefore = await store.get(key);
    const again = await seedOnce();
    expect(again).toMatchObject({ products: COUNT, photos: first.photos, bytes: first.bytes, inserted: 0, updated: 0, unchanged: COUNT });
    expect(await products()).toEqual(rowsBefore);
    expect(Buffer.from(await store.get(key)).equals(Buffer.from(bytesBefore))).toBe(true);
  });

  it("apply_description sets a live product's text and returns null for a deleted one", async () => {
    const id = `syn-${SEED}-000001`;
    const apply = async (productId: string) =>
      ((await db.raw<{ rows: Array<{ ok: boolean | null }> }>("select ??.apply_description(?, ?) as ok", [schema, productId, "A polished ring."])).rows[0] as { ok: boolean | null }).ok;
    expect(await apply(id)).toBe(true);
    expect(await product(id)).toMatchObject({ description: "A polished ring." });
    expect((await product(id)).description_generated_at).toBeInstanceOf(Date);

    expect(await deleteProduct(db, schema, id)).toBe(true);
    expect(await deleteProduct(db, schema, id)).toBe(false);
    expect(await apply(id)).toBeNull();
    expect((await catalogue()).map((r) => r.product_id)).not.toContain(id);
    expect(await apply("no-such-product")).toBeNull();
  });

  it("edit helpers: an artisan's edit, a lock and a touch each move updated_at", async () => {
    const [a, b, c] = [2, 3, 4].map((i) => `syn-${SEED}-${String(i).padStart(6, "0")}`) as [string, string, string];
    const before = await product(a);
    expect(await markEdited(db, schema, a, "hand made by me, real silver!!")).toBe(true);
    const edited = await product(a);
    expect(edited.description).toBe("hand made by me, real silver!!");
    expect((edited.description_edited_at as Date).getTime()).toBeGreaterThan((before.updated_at as Date).getTime());
    expect(edited.updated_at).toEqual(edited.description_edited_at);

    const seededLock = planDemoListing(planProduct(SEED, 3)).locked;
    expect(await lockProduct(db, schema, b, !seededLock)).toBe(true);
    expect((await product(b)).locked).toBe(!seededLock);
    expect(await lockProduct(db, schema, b, seededLock)).toBe(true);
    expect((await product(b)).locked).toBe(seededLock);

    const touchedBefore = (await product(c)).updated_at as Date;
    expect(await touchProducts(db, schema, [c, "no-such-product"])).toBe(1);
    expect(((await product(c)).updated_at as Date).getTime()).toBeGreaterThan(touchedBefore.getTime());
    expect(await markEdited(db, schema, `syn-${SEED}-000001`, "deleted")).toBe(false);
  });

  it("seeding again resets drifted products (edited, applied, deleted) and leaves the rest, touched ones included", async () => {
    const touched = await product(`syn-${SEED}-000004`);
    const locked = `syn-${SEED}-000005`;
    await lockProduct(db, schema, locked, !planDemoListing(planProduct(SEED, 5)).locked);
    const again = await seedOnce();
    // 1: applied then deleted; 2: edited; 5: lock flipped. 3 was locked and unlocked: back as seeded.
    expect(again).toMatchObject({ inserted: 0, updated: 3, unchanged: COUNT - 3 });
    const rows = await catalogue();
    expect(rows).toHaveLength(COUNT);
    for (const i of [1, 2, 5]) {
      const row = rows[i] as CatalogueRow;
      expect(row.description).toBe(planProduct(SEED, i).artisanDescription);
      expect(row.locked).toBe(planDemoListing(planProduct(SEED, i)).locked);
    }
    expect((await product(`syn-${SEED}-000001`)).description_generated_at).toBeNull();
    expect(await product(`syn-${SEED}-000004`)).toEqual(touched);
  });
});

describe("seedDemoCatalogue when the store refuses photos", () => {
  it("fails with the store's permanent error and writes no row naming a missing photo", async () => {
    const broken = openWritableObjectStore("s3://no-such-bucket", { ...s3.settings, access: "photos" });
    const seeding = seedDemoCatalogue({ db, schema, imageStore: broken, seed: SEED, products: 2, startIndex: 100 });
    await expect(seeding).rejects.toMatchObject({ name: "PermanentError", code: "object_missing" });
    expect(await db.withSchema(schema).table("products").where("id", ">=", `syn-${SEED}-000100`).count({ n: "*" })).toEqual([{ n: "0" }]);
  });
});

describe("seedDemoCatalogue into a folder store", () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), "facet-seed-"));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("writes a slice from startIndex as <productId>/<n>.<ext> files", async () => {
    const folderStore = openWritableObjectStore(pathToFileURL(folder).href, { ...s3.settings, access: "photos" });
    const summary = await seedDemoCatalogue({ db, schema, imageStore: folderStore, seed: SEED, products: 3, startIndex: COUNT });
    expect(summary).toMatchObject({ products: 3, inserted: 3 });
    const ids = (await readdir(folder)).sort();
    expect(ids).toEqual([30, 31, 32].map((i) => `syn-${SEED}-0000${i}`));
    for (const [k, id] of ids.entries()) {
      const files = (await readdir(path.join(folder, id))).sort();
      expect(files).toEqual(planProduct(SEED, COUNT + k).photos.map((p, n) => `${n}.${p.format === "jpeg" ? "jpg" : p.format}`));
    }
    expect(await catalogue()).toHaveLength(COUNT + 3);
  });
});

describe("seed planning and checks (pure)", () => {
  it("locks about 3% of products, the same ones for the same seed", () => {
    const listings = Array.from({ length: 4000 }, (_, i) => planDemoListing({ seed: 1, index: i, attributes: planProduct(1, i).attributes }));
    const share = listings.filter((l) => l.locked).length / listings.length;
    expect(Math.abs(share - LOCKED_SHARE)).toBeLessThan(0.01);
    expect(planDemoListing(planProduct(1, 17))).toEqual(planDemoListing(planProduct(1, 17)));
    expect(listings.every((l) => l.editedAgoSeconds > l.updatedAgoSeconds && l.updatedAgoSeconds < UPDATED_WITHIN_DAYS * 86_400)).toBe(true);
  });

  it("names photo formats by their magic bytes", () => {
    expect(photoExtension(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]))).toBe("jpg");
    expect(photoExtension(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe("png");
    expect(photoExtension(Buffer.from("RIFF\0\0\0\0WEBPVP8 "))).toBe("webp");
    expect(() => photoExtension(Buffer.from("GIF89a"))).toThrow(PermanentError);
  });

  it("rejects options a CLI could get wrong, naming the option", async () => {
    const base = { db, schema, imageStore: store, seed: SEED, products: 1 };
    await expect(seedDemoCatalogue({ ...base, products: -1 })).rejects.toThrow(/products must be an integer of at least 0 \(got -1\)/);
    await expect(seedDemoCatalogue({ ...base, concurrency: 0 })).rejects.toThrow(/concurrency/);
    await expect(seedDemoCatalogue({ ...base, schema: "Bad-Name" })).rejects.toThrow(/schema/);
  });
});
