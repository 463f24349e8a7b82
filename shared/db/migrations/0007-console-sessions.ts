import type { Knex } from "knex";

/**
 * The console's sign-ins (issue 11): one row per browser session, made by signing in with an
 * API token. The cookie holds a random id; only its SHA-256 is kept here (`id_hash`), so a
 * database dump signs nobody in. A session is only as good as its token: revoking the token
 * (facet token revoke) ends its sessions at their next request, and signing out deletes the row.
 */
export function up(schema: string) {
  return async (knex: Knex) => {
    await knex.schema.withSchema(schema).createTable("console_sessions", (t) => {
      t.text("id_hash").primary();
      t.text("token_id").notNullable().references("id").inTable(`${schema}.api_tokens`).onDelete("CASCADE");
      t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.timestamp("expires_at", { useTz: true }).notNullable();
      t.index(["expires_at"]);
    });
  };
}

export function down(schema: string) {
  return async (knex: Knex) => {
    await knex.schema.withSchema(schema).dropTableIfExists("console_sessions");
  };
}
