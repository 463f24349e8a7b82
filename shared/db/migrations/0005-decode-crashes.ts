import type { Knex } from "knex";

/**
 * Deaths charged to the one product being decoded (issue 10): a worker journals each photo
 * decode in Redis (workers/decode-guard.ts), so the worker that takes a job back from a dead
 * one knows whether that one died decoding this product's photos.
 *
 * - run_items.decode_crashes: times a worker died while decoding the item's photos. Above 0 the
 *   item is a suspect and decodes alone in its worker; at DECODE_CRASH_LIMIT it ends failed
 *   `worker_crashed` (the last death was one where nothing else was being decoded).
 * - run_items.decode_crash_mark: the journal entry last charged (job id and attempt), so a worker
 *   that dies between charging and clearing the entry does not have it charged twice.
 */
export function up(schema: string) {
  return async (knex: Knex) => {
    await knex.schema.withSchema(schema).alterTable("run_items", (t) => {
      t.integer("decode_crashes").notNullable().defaultTo(0);
      t.text("decode_crash_mark");
    });
  };
}

export function down(schema: string) {
  return async (knex: Knex) => {
    await knex.schema.withSchema(schema).alterTable("run_items", (t) => {
      t.dropColumns("decode_crashes", "decode_crash_mark");
    });
  };
}
