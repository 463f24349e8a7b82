import { sniffFormat } from "../../models/runtime/preprocess.js";
import { performance } from "node:perf_hooks";
import type { Knex } from "knex";
import { generateCatalogue, Random, type Metal, type ProductSpec } from "../../models/catalogue/index.js";
import { PermanentError } from "../../shared/errors/index.js";
import { retryTransient } from "../../shared/errors/retry-transient.js";
import type { WritableObjectStore } from "../../shared/storage/object-store.js";
import { createDemoCatalogue } from "./demo-catalogue-schema.js";

/**
 * `facet demo seed`: fills the demo marketplace (its products table, behind the
 * `catalogue` view) with a synthetic catalogue, and its image store with the photos.
 *
 * Re-running with the same seed is safe: photos are rewritten with the same bytes, rows
 * that still hold what was seeded are left alone (their `updated_at` does not move, so a
 * "changed since" run does not pick them up), and rows that drifted (edited, locked,
 * deleted, or described by Facet) are reset to the seeded state.
 */
export interface SeedDemoCatalogueOptions {
  /** Postgres holding the demo marketplace. The caller's composition root owns and closes it. */
  db: Knex;
  /**
   * Schema of the demo marketplace, created if missing (a lower-case SQL identifier).
   * Facet reads it through `<schema>.catalogue` (CATALOGUE_RELATION) and writes through
   * `<schema>.apply_description` (CATALOGUE_APPLY_FUNCTION).
   */
  schema: string;
  /** Where photos go, as `<productId>/<n>.<ext>` (n from 0, primary first): the store workers read as IMAGE_STORE. */
  imageStore: WritableObjectStore;
  /** Catalogue seed (an integer): the same seed gives the same products, photos and rows. Product ids are `syn-<seed>-<index>`, so seeds can share a schema. */
  seed: number;
  /** How many products to seed, indices `startIndex .. startIndex + products - 1`. */
  products: number;
  /** First product index (default 0): seed a large catalogue in slices, or grow one. */
  startIndex?: number;
  /**
   * Photo uploads in flight at once (default 16). Uploads are network-bound and cheap next
   * to rendering, so a modest number hides an object store's latency; it also bounds the
   * photo bytes held in memory.
   */
  concurrency?: number;
  /**
   * Products rendered ahead (default 4, the generator's): rendering is CPU-bound on
   * libvips threads, so a little more than the core count keeps them busy.
   */
  renderConcurrency?: number;
  /** Called after each batch of rows is committed (every ~200 products and at the end), with the totals so far. */
  onProgress?: (progress: SeedSummary) => void;
}

/** What a seed wrote. `inserted + updated + unchanged = products`. */
export interface SeedSummary {
  /** Products seeded (rows written or found already seeded). */
  products: number;
  /** Photos uploaded. */
  photos: number;
  /** Photo bytes uploaded. */
  bytes: number;
  /** Wall time since the seed started, seconds. */
  seconds: number;
  /** Rows that did not exist. */
  inserted: number;
  /** Rows that existed but had drifted from the seeded state, and were reset. */
  updated: number;
  /** Rows that already held exactly what was seeded; left untouched. */
  unchanged: number;
}

/** How the demo marketplace lists a product, beyond what the generator planned. */
export interface DemoListing {
  /** What an artisan would title it: "Silver ring". */
  title: string;
  /** About 3% of products are locked, so apply's `kept_locked` shows in the demo. */
  locked: boolean;
  /** `updated_at` is this long before the seed, seconds: spread over the last 60 days. */
  updatedAgoSeconds: number;
  /** `description_edited_at` is this long before the seed, seconds: 1 to 72 hours before `updated_at`. */
  editedAgoSeconds: number;
}

/** Share of products seeded as locked. */
export const LOCKED_SHARE = 0.03;
/** Seeded `updated_at` values fall within this many days before the seed. */
export const UPDATED_WITHIN_DAYS = 60;
/** Rows per INSERT: one round trip per 200 products, and 200 × 13 parameters is far below Postgres' 65,535. */
const ROWS_PER_INSERT = 200;
/** Attempts of one upload that fails transiently (a 503, a reset connection) before the seed gives up. */
const UPLOAD_ATTEMPTS = 4;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;

const METAL_TITLES: Record<Metal, string> = {
  "yellow gold": "Gold",
  "white gold": "White gold",
  "rose gold": "Rose gold",
  "sterling silver": "Silver",
  copper: "Copper",
};

const CONTENT_TYPES = { jpg: "image/jpeg", png: "image/png", webp: "image/webp" } as const;
export type PhotoExtension = keyof typeof CONTENT_TYPES;

/** The listing of one product; depends only on `(seed, index)`, like the product itself. */
export function planDemoListing(product: Pick<ProductSpec, "seed" | "index" | "attributes">): DemoListing {
  // Its own stream, so the listing never shifts the generator's products (or the reverse).
  const rng = Random.from("facet-demo-listing", product.seed, product.index);
  const updatedAgoSeconds = rng.int(0, UPDATED_WITHIN_DAYS * 86_400 - 1);
  return {
    title: `${METAL_TITLES[product.attributes.metal]} ${product.attributes.category}`,
    locked: rng.chance(LOCKED_SHARE),
    updatedAgoSeconds,
    editedAgoSeconds: updatedAgoSeconds + rng.int(1, 72) * 3600,
  };
}

/** The file extension of encoded photo bytes, from their magic numbers (only what the generator writes). */
export function photoExtension(bytes: Uint8Array): PhotoExtension {
  const extension = ({ jpeg: "jpg", png: "png", webp: "webp" } as const)[sniffFormat(bytes) as "jpeg" | "png" | "webp"];
  if (extension) return extension;
  throw new PermanentError("photo_format_unknown", `photo bytes are not JPEG, PNG or WebP (they start ${Buffer.from(bytes.subarray(0, 12)).toString("hex")})`);
}

/** Seeds the demo marketplace; see `SeedDemoCatalogueOptions`. */
export async function seedDemoCatalogue(options: SeedDemoCatalogueOptions): Promise<SeedSummary> {
  const { db, schema, imageStore, seed, products, onProgress } = options;
  const startIndex = options.startIndex ?? 0;
  const concurrency = options.concurrency ?? 16;
  const renderConcurrency = options.renderConcurrency ?? 4;
  if (!SCHEMA_NAME.test(schema)) throw new RangeError(`seedDemoCatalogue: schema must be a lower-case SQL identifier (got ${JSON.stringify(schema)})`);
  checkInteger("seed", seed, Number.MIN_SAFE_INTEGER);
  checkInteger("products", products, 0);
  checkInteger("startIndex", startIndex, 0);
  checkInteger("concurrency", concurrency, 1);
  checkInteger("renderConcurrency", renderConcurrency, 1);

  const started = performance.now();
  const summary: SeedSummary = { products: 0, photos: 0, bytes: 0, seconds: 0, inserted: 0, updated: 0, unchanged: 0 };
  await createDemoCatalogue(db, schema);
  const uploads = boundedTasks(concurrency);
  let batch: ProductRow[] = [];

  const flush = async (): Promise<void> => {
    // A row goes in only once its photos are stored: the catalogue never names a missing photo.
    await uploads.drain();
    if (batch.length > 0) {
      const outcome = await upsertProducts(db, schema, batch);
      summary.products += batch.length;
      summary.inserted += outcome.inserted;
      summary.updated += outcome.updated;
      summary.unchanged += batch.length - outcome.inserted - outcome.updated;
      batch = [];
    }
    summary.seconds = (performance.now() - started) / 1000;
    onProgress?.({ ...summary });
  };

  try {
    for await (const { product, photos } of generateCatalogue({ seed, count: products, start: startIndex, concurrency: renderConcurrency })) {
      const photoKeys: string[] = [];
      for (const [n, bytes] of photos.entries()) {
        const ext = photoExtension(bytes);
        const key = `${product.id}/${n}.${ext}`;
        photoKeys.push(key);
        await uploads.add(async () => {
          await retryTransient(() => imageStore.put(key, bytes, CONTENT_TYPES[ext]), { attempts: UPLOAD_ATTEMPTS });
          summary.photos += 1;
          summary.bytes += bytes.byteLength;
        });
      }
      batch.push(productRow(product, photoKeys));
      if (batch.length >= ROWS_PER_INSERT) await flush();
    }
    if (batch.length > 0 || summary.products === 0) await flush();
  } finally {
    // On failure, let uploads already started finish before the caller closes the store's client.
    await uploads.settle();
  }
  return { ...summary };
}

/** Simulates an artisan editing a product's text: the edit is newer than anything Facet applied (apply keeps it). False if the product is gone. */
export async function markEdited(db: Knex, schema: string, productId: string, text: string): Promise<boolean> {
  const now = db.fn.now();
  const changed = await live(db, schema).where({ id: productId }).update({ description: text, description_edited_at: now, updated_at: now });
  return changed > 0;
}

/** Locks or unlocks a product's description (apply leaves a locked one alone). False if the product is gone. */
export async function lockProduct(db: Knex, schema: string, productId: string, locked: boolean): Promise<boolean> {
  const changed = await live(db, schema).where({ id: productId }).update({ locked, updated_at: db.fn.now() });
  return changed > 0;
}

/** Deletes a product the way the marketplace does (sets `deleted_at`; the view and `apply_description` stop seeing it). False if already gone. */
export async function deleteProduct(db: Knex, schema: string, productId: string): Promise<boolean> {
  const now = db.fn.now();
  const changed = await live(db, schema).where({ id: productId }).update({ deleted_at: now, updated_at: now });
  return changed > 0;
}

/** Marks products as changed (`updated_at = now()`), as any marketplace edit would; returns how many exist. */
export async function touchProducts(db: Knex, schema: string, productIds: readonly string[]): Promise<number> {
  if (productIds.length === 0) return 0;
  return live(db, schema).whereIn("id", [...productIds]).update({ updated_at: db.fn.now() });
}

/** Products not deleted. Every edit helper moves `updated_at`, as a marketplace does on any change. */
function live(db: Knex, schema: string): Knex.QueryBuilder {
  return db.withSchema(schema).table("products").whereNull("deleted_at");
}

interface ProductRow {
  id: string;
  title: string;
  category: string;
  photoKeys: string[];
  description: string;
  locked: boolean;
  updatedAgoSeconds: number;
  editedAgoSeconds: number;
  /** metal, gemstone, finish, setting, style: the listing's structured fields. */
  fields: [string, string, string, string, string];
}

function productRow(product: ProductSpec, photoKeys: string[]): ProductRow {
  const listing = planDemoListing(product);
  return {
    id: product.id,
    title: listing.title,
    category: product.attributes.category,
    photoKeys,
    description: product.artisanDescription,
    locked: listing.locked,
    updatedAgoSeconds: listing.updatedAgoSeconds,
    editedAgoSeconds: listing.editedAgoSeconds,
    fields: [product.attributes.metal, product.attributes.gemstone, product.attributes.finish, product.attributes.setting, product.attributes.style],
  };
}

/**
 * Inserts new rows, resets rows that drifted from the seeded state, and leaves the others
 * untouched (the `where` on the update), so a second seed moves no `updated_at`.
 */
async function upsertProducts(db: Knex, schema: string, rows: readonly ProductRow[]): Promise<{ inserted: number; updated: number }> {
  const values = rows.map(() => `(?, ?, ?, ?::text[], ?, ?, now() - ?::integer * interval '1 second', now() - ?::integer * interval '1 second', ?, ?, ?, ?, ?)`);
  const bindings = rows.flatMap((r) => [r.id, r.title, r.category, r.photoKeys, r.description, r.locked, r.updatedAgoSeconds, r.editedAgoSeconds, ...r.fields]);
  const result = await db.raw<{ rows: Array<{ inserted: boolean }> }>(
    `insert into ??.products as p (id, title, category, photo_keys, description, locked, updated_at, description_edited_at, metal, gemstone, finish, setting, style)
     values ${values.join(", ")}
     on conflict (id) do update set
       title = excluded.title, category = excluded.category, photo_keys = excluded.photo_keys,
       description = excluded.description, locked = excluded.locked, updated_at = excluded.updated_at,
       description_edited_at = excluded.description_edited_at, description_generated_at = null, deleted_at = null,
       metal = excluded.metal, gemstone = excluded.gemstone, finish = excluded.finish, setting = excluded.setting, style = excluded.style
     where (p.title, p.category, p.photo_keys, p.description, p.locked, p.metal, p.gemstone, p.finish, p.setting, p.style)
             is distinct from (excluded.title, excluded.category, excluded.photo_keys, excluded.description, excluded.locked,
                               excluded.metal, excluded.gemstone, excluded.finish, excluded.setting, excluded.style)
        or p.deleted_at is not null or p.description_generated_at is not null
     returning (p.xmax = 0) as inserted`,
    [schema, ...bindings],
  );
  const inserted = result.rows.filter((r) => r.inserted).length;
  return { inserted, updated: result.rows.length - inserted };
}

/**
 * Runs at most `limit` tasks at once. `add` waits for a free slot; the first failure is
 * raised by the next `add` or `drain` (after the tasks in flight end), so a broken store
 * stops the seed instead of failing every remaining upload.
 */
function boundedTasks(limit: number) {
  const inFlight = new Set<Promise<void>>();
  let failed: { error: unknown } | undefined;
  const settle = async (): Promise<void> => {
    await Promise.all(inFlight);
  };
  const drain = async (): Promise<void> => {
    await settle();
    if (failed) throw failed.error;
  };
  return {
    async add(task: () => Promise<void>): Promise<void> {
      while (inFlight.size >= limit && !failed) await Promise.race(inFlight);
      if (failed) return drain();
      const running: Promise<void> = task()
        .catch((error: unknown) => {
          failed ??= { error };
        })
        .finally(() => inFlight.delete(running));
      inFlight.add(running);
    },
    drain,
    settle,
  };
}

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`seedDemoCatalogue: ${name} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` of at least ${min}` : ""} (got ${value})`);
  }
}
