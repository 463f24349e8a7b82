import type { Knex } from "knex";

/**
 * Review decisions in the ledger (issue 9):
 *
 * - description_versions.review_reasons: why a result needs a person (unfamiliar_photo,
 *   low_confidence, text_incomplete, contradicts_seller), decided by the worker when the result was generated and
 *   applied by `apply` as it stands; empty: it may be applied. Null on versions written before this
 *   migration, which keep the old rule (min_confidence below REVIEW_THRESHOLD).
 * - description_versions.familiarity: the photos' distance to the training photos (null: the
 *   bundle has no familiarity output); review_detail: what the seller said where the result
 *   contradicts it.
 * - current_descriptions.artisan_description: what the artisan wrote before Facet first applied a
 *   text, so seller facts are read from the artisan's words, not from Facet's own earlier text.
 */
export function up(schema: string) {
  return async (knex: Knex) => {
    await knex.schema.withSchema(schema).alterTable("description_versions", (t) => {
      t.specificType("review_reasons", "text[]");
      t.float("familiarity");
      t.jsonb("review_detail");
    });
    await knex.schema.withSchema(schema).alterTable("current_descriptions", (t) => {
      t.text("artisan_description");
    });
  };
}

export function down(schema: string) {
  return async (knex: Knex) => {
    await knex.schema.withSchema(schema).alterTable("description_versions", (t) => {
      t.dropColumns("review_reasons", "familiarity", "review_detail");
    });
    await knex.schema.withSchema(schema).alterTable("current_descriptions", (t) => {
      t.dropColumn("artisan_description");
    });
  };
}
