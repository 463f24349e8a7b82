import { ConfigError } from "../../shared/errors/index.js";
import { migrate } from "../../shared/db/database.js";
import { Services } from "../services.js";
import { parseFlags } from "../usage-error.js";

/** `facet db migrate [--json]`: create or update Facet's tables in DB_SCHEMA. */
export async function dbCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "migrate") throw new ConfigError(`facet db: unknown subcommand '${sub ?? ""}' (expected: migrate)`);
  const { values } = parseFlags("db migrate", rest, { json: { type: "boolean", default: false } });
  const services = new Services("cli");
  try {
    const applied = await migrate(services.db, services.config.DB_SCHEMA);
    if (values.json) console.log(JSON.stringify({ schema: services.config.DB_SCHEMA, applied }));
    else console.log(applied.length ? `applied ${applied.join(", ")} in schema ${services.config.DB_SCHEMA}` : `schema ${services.config.DB_SCHEMA} is up to date`);
    return 0;
  } finally {
    await services.close();
  }
}
