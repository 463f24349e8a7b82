import DataLoader from "dataloader";
import { z } from "zod";
import type { LedgerContext } from "./run-ledger.js";
import { ITEM_STATES, type ItemState } from "./run.js";

/** What a job needs to know before fetching photos: the item's state and the product's photos. */
export interface ItemForJob {
  state: ItemState;
  /** False once the product has left the catalogue (the item is skipped: product_gone). */
  present: boolean;
  photoKeys: string[];
  /** What the seller said, for their facts: the artisan's text (not Facet's own applied text) and the catalogue's category field. */
  seller: { text: string | null; category: string | null };
  /** Worker deaths charged to it (stall-limit failures plus deaths while its photos were decoded): above 0 it is a suspect. */
  crashes: number;
}

export interface ItemLookupOptions {
  /**
   * How long a lookup waits for others to share its query, ms. Default 5. Jobs arrive in
   * bursts (a finished batch frees its slots at once), so a few milliseconds gather most of
   * a burst into one query.
   */
  windowMs?: number;
  /** Most items per query. Default 100. */
  maxBatch?: number;
}

const lookupRowSchema = z.object({
  run_id: z.string(),
  product_id: z.string(),
  state: z.enum(ITEM_STATES),
  present: z.boolean(),
  photo_keys: z.array(z.string()).nullable(),
  seller_text: z.string().nullable(),
  category: z.string().nullable(),
  crashes: z.number().int(),
});

/**
 * Reads items' ledger state and photo keys, many per Postgres round trip: one query per
 * product was the largest share of the pipeline's Postgres work (bench:pipeline counted 3,000
 * lookups in 5,300 statements for 3,000 products). Never cached: each call reads the ledger
 * as it is, so a product finished elsewhere, or deleted from the catalogue, is seen.
 * A failed query rejects every lookup that shared it (each job then retries on its own).
 */
export function createItemLookup(ledger: LedgerContext, options: ItemLookupOptions = {}) {
  const windowMs = options.windowMs ?? 5;
  const key = (runId: string, productId: string) => `${runId}\u0000${productId}`;
  const loader = new DataLoader<{ runId: string; productId: string }, ItemForJob | undefined>(
    async (items) => {
      const { rows } = await ledger.db.raw<{ rows: unknown[] }>(
        // The catalogue's text is the artisan's unless it is the one Facet applied; then the
        // artisan's words are the ones current_descriptions kept.
        `select ri.run_id, ri.product_id, ri.state, ri.crashes + ri.decode_crashes as crashes, c.product_id is not null as present, c.photo_keys, c.category,
                case when cd.product_id is not null and c.description is not distinct from cd.description
                     then coalesce(cd.artisan_description, cd.previous_description) else c.description end as seller_text
           from unnest(?::text[], ?::text[]) as k(run_id, product_id)
           join ??.run_items ri on ri.run_id = k.run_id and ri.product_id = k.product_id
           left join ?? c on c.product_id = ri.product_id
           left join ??.current_descriptions cd on cd.product_id = ri.product_id`,
        [items.map((i) => i.runId), items.map((i) => i.productId), ledger.schema, ledger.catalogue, ledger.schema],
      );
      const found = new Map(
        rows.map((row) => lookupRowSchema.parse(row)).map((r) => [
          key(r.run_id, r.product_id),
          { state: r.state, present: r.present, photoKeys: r.photo_keys ?? [], seller: { text: r.seller_text, category: r.category }, crashes: r.crashes },
        ]),
      );
      return items.map((i) => found.get(key(i.runId, i.productId)));
    },
    {
      cache: false,
      maxBatchSize: options.maxBatch ?? 100,
      batchScheduleFn: (run) => setTimeout(run, windowMs),
    },
  );
  return {
    /** The item (run, product), or undefined when the run has no such item. */
    load: (runId: string, productId: string): Promise<ItemForJob | undefined> => loader.load({ runId, productId }),
  };
}
