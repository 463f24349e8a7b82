import { RunFeeder } from "../../producers/run-feeder.js";
import { onShutdown } from "../../shared/process/shutdown.js";
import { Services } from "../services.js";
import { parseFlags } from "../usage-error.js";

/**
 * `facet producer`: the long-running feeder. Snapshots new runs and keeps every running
 * run's backlog in Redis topped up from the ledger. Several may run (e.g. one per
 * Kubernetes replica): every decision is re-read from Postgres and job ids are deterministic.
 */
export async function producerCommand(args: string[]): Promise<number> {
  parseFlags("producer", args, {});
  const services = new Services("producer");
  try {
    const feeder = new RunFeeder({ ledger: services.ledger, queue: services.queue, logger: services.logger, backlogPerRun: services.config.BACKLOG_PER_RUN });
    feeder.start();
    services.logger.info({ backlogPerRun: services.config.BACKLOG_PER_RUN }, "producer started");
    const signal = await onShutdown(() => feeder.stop());
    services.logger.info({ signal }, "producer stopped");
    return 0;
  } finally {
    await services.close();
  }
}
