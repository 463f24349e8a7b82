import type { Knex } from "knex";

/**
 * Facet's ledger. Postgres is the source of truth for every run; Redis only carries jobs.
 *
 * - runs: one row per run (model version + selection + mode + priority) and its lifecycle.
 * - run_items: the selection snapshotted at start, one row per product; each ends exactly
 *   one of done / failed / skipped, with a reason code when not done.
 * - description_versions: every generated description, kept (idempotent on run + product).
 * - current_descriptions: what Facet last applied to each product, and what it replaced,
 *   so apply can respect later artisan edits and rollback can restore the previous text.
 */
export function up(schema: string) {
  return async (knex: Knex) => {
    await knex.raw("create schema if not exists ??", [schema]);
    // A schema builder accumulates statements: take a fresh one per table.
    const s = () => knex.schema.withSchema(schema);
    await s().createTable("runs", (t) => {
      t.text("id").primary();
      t.text("model_version").notNullable();
      t.jsonb("selection").notNullable();
      t.text("mode").notNullable().checkIn(["shadow", "apply"], "runs_mode_check");
      t.integer("priority").notNullable().defaultTo(0);
      t.text("state").notNullable().checkIn(["snapshotting", "running", "paused", "cancelled", "completed"], "runs_state_check");
      t.text("trigger").notNullable().defaultTo("manual");
      t.text("schedule_name");
      t.integer("total").notNullable().defaultTo(0);
      t.boolean("snapshot_complete").notNullable().defaultTo(false);
      /** Last product id snapshotted: the snapshot resumes after it. */
      t.text("snapshot_cursor");
      /** Selection values resolved at start (e.g. the date "changed since the last success" meant). */
      t.jsonb("resolved_selection");
      /** Highest run_items.seq handed to the queue so far: the producer's resume point. */
      t.bigInteger("enqueued_seq").notNullable().defaultTo(0);
      t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.timestamp("started_at", { useTz: true });
      t.timestamp("finished_at", { useTz: true });
      t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.index(["state", "priority"], "runs_state_priority_idx");
    });
    await s().createTable("run_items", (t) => {
      t.text("run_id").notNullable().references("id").inTable(`${schema}.runs`).onDelete("CASCADE");
      t.bigInteger("seq").notNullable();
      t.text("product_id").notNullable();
      t.text("state").notNullable().defaultTo("pending").checkIn(["pending", "done", "failed", "skipped"], "run_items_state_check");
      t.text("reason");
      t.text("detail");
      t.integer("attempts").notNullable().defaultTo(0);
      t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.primary(["run_id", "product_id"]);
      t.unique(["run_id", "seq"], { indexName: "run_items_run_seq_key" });
      // (run, state, seq): the feeder counts and reads pending items by seq range; with seq in the
      // index that costs the backlog, not the run's size.
      t.index(["run_id", "state", "seq"], "run_items_run_state_seq_idx");
    });
    await s().createTable("description_versions", (t) => {
      t.bigIncrements("id").primary();
      t.text("run_id").notNullable().references("id").inTable(`${schema}.runs`).onDelete("CASCADE");
      t.text("product_id").notNullable();
      t.text("model_name").notNullable();
      t.text("model_version").notNullable();
      t.text("input_hash").notNullable();
      t.text("description").notNullable();
      t.jsonb("attributes").notNullable();
      t.float("min_confidence").notNullable();
      t.text("status").notNullable().defaultTo("generated")
        .checkIn(["generated", "applied", "needs_review", "kept_locked", "kept_edited", "rolled_back"], "description_versions_status_check");
      t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.unique(["run_id", "product_id"], { indexName: "description_versions_run_product_key" });
      t.index(["product_id", "created_at"], "description_versions_product_idx");
    });
    await s().createTable("current_descriptions", (t) => {
      t.text("product_id").primary();
      t.bigInteger("version_id").notNullable().references("id").inTable(`${schema}.description_versions`);
      t.text("run_id").notNullable();
      t.text("description").notNullable();
      t.timestamp("applied_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
      /** The catalogue's text before this apply, restored by rollback. */
      t.text("previous_description");
      t.bigInteger("previous_version_id");
    });
  };
}

export function down(schema: string) {
  return async (knex: Knex) => {
    await knex.raw("drop schema if exists ?? cascade", [schema]);
  };
}
