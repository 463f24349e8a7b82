import type { Knex } from "knex";

/**
 * How often an item's job was lost in a way that says something about the item (issue 10):
 *
 * - run_items.crashes: times its job was failed by BullMQ's stall limit (the workers holding it
 *   died, MAX_STALLED_COUNT + 1 times in a row). At CRASH_LIMIT the item ends failed
 *   `worker_crashed`: a product that kills every worker that takes it is a poison pill.
 * - run_items.job_failures: times its job failed without the worker recording an outcome (an
 *   error on the last attempt outside the photo path). At JOB_FAILURE_LIMIT the item ends failed
 *   `job_failed` with the last error as its detail.
 *
 * A job that is simply gone (a Redis flush, an eviction) counts neither: it is enqueued again.
 */
export function up(schema: string) {
  return async (knex: Knex) => {
    await knex.schema.withSchema(schema).alterTable("run_items", (t) => {
      t.integer("crashes").notNullable().defaultTo(0);
      t.integer("job_failures").notNullable().defaultTo(0);
    });
  };
}

export function down(schema: string) {
  return async (knex: Knex) => {
    await knex.schema.withSchema(schema).alterTable("run_items", (t) => {
      t.dropColumns("crashes", "job_failures");
    });
  };
}
