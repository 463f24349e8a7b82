import { ConfigError } from "../../shared/errors/index.js";
import { openWritableObjectStore } from "../../shared/storage/object-store.js";
import { createDemoCatalogue } from "../../producers/demo/demo-catalogue-schema.js";
import { seedDemoCatalogue } from "../../producers/demo/seed-demo-catalogue.js";
import { Services } from "../services.js";
import { demoRunCommand } from "./demo-run.js";
import { parseFlags, positiveInt } from "../usage-error.js";

/**
 * `facet demo seed --products N [--seed S] [--schema facet_demo]`: a demo marketplace in
 * Postgres (DATABASE_URL) with photos in IMAGE_STORE, rendered by the synthetic catalogue.
 */
export async function demoCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "run") return demoRunCommand(rest);
  if (sub !== "seed") throw new ConfigError(`facet demo: unknown subcommand '${sub ?? ""}' (expected: seed or run)`);
  const { values, positionals } = parseFlags("demo seed", rest, {
    products: { type: "string", default: "500" },
    seed: { type: "string", default: "7" },
    schema: { type: "string" },
    json: { type: "boolean", default: false },
  });
  if (positionals.length) throw new ConfigError(`facet demo seed: unexpected argument '${positionals[0]}'`);
  const services = new Services("cli");
  try {
    const schema = values.schema ?? services.config.CATALOGUE_RELATION.split(".")[0] ?? "facet_demo";
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new ConfigError(`facet demo seed: --schema must be a lower-case SQL identifier, got '${schema}'`);
    const products = positiveInt("demo seed", "products", values.products, 500);
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new ConfigError(`facet demo seed: --seed must be a non-negative integer, got '${values.seed}'`);
    await createDemoCatalogue(services.db, schema);
    const imageStore = openWritableObjectStore(services.config.IMAGE_STORE, { ...services.s3, access: "photos" });
    const summary = await seedDemoCatalogue({
      db: services.db,
      schema,
      imageStore,
      seed,
      products,
      onProgress: (p) => {
        if (!values.json) process.stderr.write(`\r  seeded ${p.products}/${products} products`);
      },
    }).finally(() => imageStore.close());
    if (values.json) console.log(JSON.stringify({ schema, imageStore: services.config.IMAGE_STORE, ...summary }));
    else console.log(`\nseeded ${summary.products} products (${summary.photos} photos) into ${schema}.products and ${services.config.IMAGE_STORE} in ${summary.seconds.toFixed(1)} s`);
    return 0;
  } finally {
    await services.close();
  }
}
