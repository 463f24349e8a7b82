import type { Knex } from "knex";
import { setStatuses, STATUSES } from "./0004-run-shift.js";

/**
 * Who may use `facet serve` (issue 11), what they did, and the review decisions they took.
 *
 * - api_tokens: one row per token. Only the token's SHA-256 is kept (`token_hash`, unique), so a
 *   database dump leaks no usable token; `facet token create` prints the token once. `role` is
 *   viewer, reviewer or operator; `revoked_at` set means refused from then on.
 * - audit_log: every decision and run command taken through the server: who (the token's id
 *   and name, kept as they were), what (`action`), on what (`subject`: a run or product id) and
 *   the details (JSON), when.
 * - review_decisions: a person's decision on a version that needed review: approve (its text
 *   applied as generated), edit (a corrected text and, optionally, corrected attributes,
 *   applied) or reject (nothing applied); who and when. Approved and edited texts and
 *   corrected attributes are what `facet dataset export --reviewed` learns from.
 * - description_versions.status gains `rejected`.
 */
export function up(schema: string) {
  return async (knex: Knex) => {
    await knex.schema.withSchema(schema).createTable("api_tokens", (t) => {
      t.text("id").primary();
      t.text("name").notNullable();
      t.text("role").notNullable();
      t.text("token_hash").notNullable().unique();
      t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.timestamp("revoked_at", { useTz: true });
      t.timestamp("last_used_at", { useTz: true });
    });
    await knex.raw(`alter table ??.api_tokens add constraint api_tokens_role check (role in ('viewer', 'reviewer', 'operator'))`, [schema]);
    await knex.schema.withSchema(schema).createTable("audit_log", (t) => {
      t.bigIncrements("id").primary();
      t.timestamp("at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.text("actor_token_id").notNullable();
      t.text("actor_name").notNullable();
      t.text("action").notNullable();
      t.text("subject").notNullable();
      t.jsonb("detail").notNullable().defaultTo("{}");
      t.index(["subject", "at"]);
    });
    await knex.schema.withSchema(schema).createTable("review_decisions", (t) => {
      t.bigIncrements("id").primary();
      t.bigInteger("version_id").notNullable().unique().references("id").inTable(`${schema}.description_versions`).onDelete("CASCADE");
      t.text("product_id").notNullable();
      t.text("decision").notNullable().checkIn(["approve", "edit", "reject"], "review_decisions_decision_check");
      /** The text applied (approve: the generated one; edit: the person's); null when rejected. */
      t.text("text");
      /** Attributes the person corrected, label by attribute; {} when none. */
      t.jsonb("attributes").notNullable().defaultTo("{}");
      t.text("actor_token_id").notNullable();
      t.text("actor_name").notNullable();
      t.timestamp("at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.index(["product_id", "at"]);
    });
    await setStatuses(knex, schema, [...STATUSES, "held", "rejected"]);
  };
}

export function down(schema: string) {
  return async (knex: Knex) => {
    await knex.withSchema(schema).table("description_versions").where({ status: "rejected" }).update({ status: "needs_review" });
    await setStatuses(knex, schema, [...STATUSES, "held"]);
    await knex.schema.withSchema(schema).dropTable("review_decisions");
    await knex.schema.withSchema(schema).dropTable("audit_log");
    await knex.schema.withSchema(schema).dropTable("api_tokens");
  };
}
