import type { Queue } from "bullmq";
import { runCounts, type LedgerContext } from "../shared/ledger/run-ledger.js";
import { activeAndRecentRuns, runsByState } from "../shared/ledger/run-stats.js";
import type { RunCounts } from "../shared/ledger/run.js";
import type { ProducerSnapshot } from "../shared/metrics/metrics.js";

/** Waiting jobs looked at for the oldest one's age: the head of the wait list and of the priority set. */
const AGE_SAMPLE = 200;

/**
 * What the producer reports at each scrape: BullMQ's job counts and the age of the oldest
 * waiting job, and from the ledger each unfinished run's progress (and that of runs finished
 * in the last 24 h, read once: a finished run's counts no longer change).
 */
export function producerSnapshot(ledger: LedgerContext, queue: Queue) {
  const finishedCounts = new Map<string, RunCounts>();
  return async (): Promise<ProducerSnapshot> => {
    const fromRedis = Promise.all([
      queue.getJobCounts("waiting", "prioritized", "active", "delayed", "failed"),
      // Oldest first: the tail of the wait list; the prioritized set in priority, then arrival, order.
      queue.getJobs(["wait", "prioritized"], 0, AGE_SAMPLE - 1, true),
    ]).catch((error: unknown) => {
      throw tagged(error, "redis");
    });
    const fromPostgres = Promise.all([activeAndRecentRuns(ledger), runsByState(ledger)]).catch((error: unknown) => {
      throw tagged(error, "postgres");
    });
    const [[counts, oldest], [runs, byState]] = await Promise.all([fromRedis, fromPostgres]);
    const now = Date.now();
    const timestamps = oldest.filter((j) => j !== undefined && j !== null).map((j) => j.timestamp);
    const perRun = await Promise.all(
      runs.map(async (r) => {
        const finished = r.state === "completed" || r.state === "cancelled";
        let c = finished ? finishedCounts.get(r.id) : undefined;
        if (!c) {
          c = await runCounts(ledger, r.id).catch((error: unknown) => {
            throw tagged(error, "postgres");
          });
          if (finished) finishedCounts.set(r.id, c);
        }
        return { ...r, ...c };
      }),
    );
    // Forget runs that left the 24 h window.
    const shown = new Set(perRun.map((r) => r.id));
    for (const id of finishedCounts.keys()) if (!shown.has(id)) finishedCounts.delete(id);
    return {
      queue: {
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
        oldestWaitingAgeSeconds: timestamps.length ? Math.max(0, (now - Math.min(...timestamps)) / 1000) : 0,
      },
      runs: perRun,
      runsByState: byState,
    };
  };
}

/** The dependency a snapshot error came from, for facet_dependency_errors_total. */
export function dependencyOfSnapshotError(error: unknown): "redis" | "postgres" {
  return (error as { dependency?: "redis" | "postgres" })?.dependency ?? "postgres";
}

function tagged(error: unknown, dependency: "redis" | "postgres"): Error {
  const e = error instanceof Error ? error : new Error(String(error));
  return Object.assign(e, { dependency });
}
