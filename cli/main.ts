/**
 * `facet`: the one command line for every role. Each subcommand is a thin composition
 * root: parse flags, build what it needs, run, close everything.
 *
 * Exit codes: 0 success; 1 the work ran but some items failed (e.g. a corrupt photo);
 * 2 bad usage, flag, config or model bundle (one line on stderr naming it).
 */
import { FacetError } from "../shared/errors/index.js";
import { DEFAULT_INFERENCE_THREADS, prestartInferenceThreads } from "../models/runtime/inference-threads.js";

type Command = (args: string[]) => Promise<number>;

/** Each command's module is imported only when it runs: `facet run status` loads no model runtime. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  describe: { summary: "describe <photos…> [--model DIR] [--json]   describe products from local photos", load: async () => (await import("./commands/describe.js")).describeCommand },
  dataset: { summary: "dataset export …                            write a training dataset (catalogue, CSV or synthetic)", load: async () => (await import("./commands/dataset.js")).datasetCommand },
  model: { summary: "model train|evaluate|publish|list            the model lifecycle (facet model --help)", load: async () => (await import("./commands/model.js")).modelCommand },
  db: { summary: "db migrate|wait                             create or update Facet's tables, or wait until they are (facet db --help)", load: async () => (await import("./commands/db.js")).dbCommand },
  demo: { summary: "demo seed [--products N] [--seed S]            fill a demo marketplace and image store", load: async () => (await import("./commands/demo.js")).demoCommand },
  producer: { summary: "producer                                    feed runs to the queue (long-running)", load: async () => (await import("./commands/producer.js")).producerCommand },
  worker: { summary: "worker                                      describe products from the queue (long-running)", load: async () => (await import("./commands/worker.js")).workerCommand },
  run: { summary: "run start|status|watch|list|pause|resume|cancel|retry-failed|apply|rollback (facet run --help)", load: async () => (await import("./commands/run.js")).runCommand },
  serve: { summary: "serve [--port N]                            the JSON API (describe, runs) for people and tools (long-running)", load: async () => (await import("./commands/serve.js")).serveCommand },
  token: { summary: "token create|list|revoke                     API tokens for facet serve (facet token --help)", load: async () => (await import("./commands/token.js")).tokenCommand },
  schedule: { summary: "schedule set|list|remove                     scheduled runs, e.g. nightly (facet schedule --help)", load: async () => (await import("./commands/schedule.js")).scheduleCommand },
};

/**
 * INFERENCE_THREADS as far as it can be read before the configuration is (it is validated
 * there; a bad value starts no thread here and fails there).
 */
function inferenceThreadsHint(raw: string | undefined): number {
  if (raw === undefined || raw === "") return DEFAULT_INFERENCE_THREADS;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= 64 ? n : 0;
}

function usage(): string {
  return ["usage: facet <command> [options]", "", ...Object.values(COMMANDS).map((c) => `  facet ${c.summary}`)].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`facet: unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(", ")})`);
    return 2;
  }
  // A worker's (or server's) inference threads import onnxruntime while this thread imports the rest (≈ 0.3 s of start-up).
  if (name === "worker" || name === "serve") prestartInferenceThreads(inferenceThreadsHint(process.env.INFERENCE_THREADS));
  return (await command.load())(rest);
}

/** Postgres's "relation … does not exist" (42P01) as `relation "x" does not exist`, else undefined. */
function missingTable(error: unknown): string | undefined {
  if ((error as { code?: unknown })?.code !== "42P01") return undefined;
  return /relation "[^"]+" does not exist/.exec((error as Error).message)?.[0] ?? "a table does not exist";
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const missing = missingTable(error);
    if (error instanceof FacetError && !error.retryable) {
      console.error(error.message);
      process.exitCode = 2;
    } else if (missing) {
      console.error(`facet: ${missing}: Facet's tables are not in this database and schema (DATABASE_URL, DB_SCHEMA); run \`facet db migrate\` first`);
      process.exitCode = 2;
    } else {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exitCode = 1;
    }
  },
);
