import type { Knex } from "knex";

/**
 * Run-level shift (issue 9; models/runtime/run-shift.ts, shared/ledger/run-shift.ts):
 *
 * - runs.shift_products, shift_unusual: the run's results that carried a shift signal, and how
 *   many of them were unusual for their bundle; shift_baseline: the bundle's validation share
 *   (null: the bundle has none, no run-level gate); shifted_at: when the run was found shifted
 *   (its photos as a whole unlike the bundle's training photos: every result goes to review).
 * - description_versions.status `held`: a result of an apply run kept back, not applied, until the
 *   run has shown whether it is shifted (its first SHIFT_MIN_PRODUCTS results, or the whole run
 *   when it is smaller).
 */
export const STATUSES = ["generated", "applied", "needs_review", "kept_locked", "kept_edited", "rolled_back"];

export function up(schema: string) {
  return async (knex: Knex) => {
    await knex.schema.withSchema(schema).alterTable("runs", (t) => {
      t.integer("shift_products").notNullable().defaultTo(0);
      t.integer("shift_unusual").notNullable().defaultTo(0);
      t.double("shift_baseline");
      t.timestamp("shifted_at", { useTz: true });
    });
    await setStatuses(knex, schema, [...STATUSES, "held"]);
  };
}

export function down(schema: string) {
  return async (knex: Knex) => {
    await knex.withSchema(schema).table("description_versions").where({ status: "held" }).update({ status: "generated" });
    await setStatuses(knex, schema, STATUSES);
    await knex.schema.withSchema(schema).alterTable("runs", (t) => {
      t.dropColumns("shift_products", "shift_unusual", "shift_baseline", "shifted_at");
    });
  };
}

/** Replace description_versions' status check with `statuses` (later migrations add theirs). */
export async function setStatuses(knex: Knex, schema: string, statuses: readonly string[]): Promise<void> {
  await knex.raw(`alter table ??.description_versions drop constraint description_versions_status_check`, [schema]);
  // DDL takes no bind parameters: the statuses are this file's own constants, quoted here.
  const list = statuses.map((s) => `'${s}'`).join(", ");
  await knex.raw(`alter table ??.description_versions add constraint description_versions_status_check check (status in (${list}))`, [schema]);
}
