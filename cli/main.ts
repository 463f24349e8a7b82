/**
 * `facet`: the one command line for every role. Each subcommand is a thin composition
 * root: parse flags, build what it needs, run, close everything.
 *
 * Exit codes: 0 success; 1 the work ran but some items failed (e.g. a corrupt photo);
 * 2 bad usage, flag, config or model bundle (one line on stderr naming it).
 */
import { FacetError } from "../shared/errors/index.js";
import { describeCommand } from "./commands/describe.js";
import { datasetCommand } from "./commands/dataset.js";
import { dbCommand } from "./commands/db.js";
import { runCommand } from "./commands/run.js";
import { scheduleCommand } from "./commands/schedule.js";
import { demoCommand } from "./commands/demo.js";
import { modelCommand } from "./commands/model.js";
import { producerCommand } from "./commands/producer.js";
import { workerCommand } from "./commands/worker.js";

const COMMANDS: Record<string, { summary: string; run: (args: string[]) => Promise<number> }> = {
  describe: { summary: "describe <photos…> [--model DIR] [--json]   describe products from local photos", run: describeCommand },
  dataset: { summary: "dataset export …                            write a training dataset (catalogue, CSV or synthetic)", run: datasetCommand },
  model: { summary: "model train|evaluate|publish|list            the model lifecycle (facet model --help)", run: modelCommand },
  db: { summary: "db migrate                                  create or update Facet's tables", run: dbCommand },
  demo: { summary: "demo seed [--products N] [--seed S]            fill a demo marketplace and image store", run: demoCommand },
  producer: { summary: "producer                                    feed runs to the queue (long-running)", run: producerCommand },
  worker: { summary: "worker                                      describe products from the queue (long-running)", run: workerCommand },
  run: { summary: "run start|status|watch|list|pause|resume|cancel|retry-failed|apply|rollback (facet run --help)", run: runCommand },
  schedule: { summary: "schedule set|list|remove                     scheduled runs, e.g. nightly (facet schedule --help)", run: scheduleCommand },
};

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
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof FacetError && !error.retryable) {
      console.error(error.message);
      process.exitCode = 2;
    } else {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exitCode = 1;
    }
  },
);
