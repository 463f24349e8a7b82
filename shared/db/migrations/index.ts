import type { Knex } from "knex";
import * as ledger from "./0001-ledger.js";
import * as review from "./0002-review.js";
import * as deliveries from "./0003-deliveries.js";
import * as runShift from "./0004-run-shift.js";
import * as decodeCrashes from "./0005-decode-crashes.js";
import * as access from "./0006-access.js";
import * as consoleSessions from "./0007-console-sessions.js";

/** Facet's migrations, in order. Listed in code (not read from a folder) so they run the same from TypeScript sources or a build. */
const MIGRATIONS: ReadonlyArray<{ name: string; up: (schema: string) => (knex: Knex) => Promise<void>; down: (schema: string) => (knex: Knex) => Promise<void> }> = [
  { name: "0001-ledger", ...ledger },
  { name: "0002-review", ...review },
  { name: "0003-deliveries", ...deliveries },
  { name: "0004-run-shift", ...runShift },
  { name: "0005-decode-crashes", ...decodeCrashes },
  { name: "0006-access", ...access },
  { name: "0007-console-sessions", ...consoleSessions },
];

/** A knex MigrationSource for Facet's tables in `schema`. */
export function migrationSource(schema: string): Knex.MigrationSource<string> {
  return {
    async getMigrations() {
      return MIGRATIONS.map((m) => m.name);
    },
    getMigrationName(name) {
      return name;
    },
    async getMigration(name) {
      const m = MIGRATIONS.find((x) => x.name === name);
      if (!m) throw new Error(`unknown migration ${name}`);
      return { up: m.up(schema), down: m.down(schema) };
    },
  };
}
