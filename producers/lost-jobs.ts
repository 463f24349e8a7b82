import type { Job, Queue } from "bullmq";
import type { Logger } from "../shared/logging/logger.js";
import { CRASH_LIMIT, handedItems, settleLostJobs, type HandedItem, type JobLoss, type SettledLosses } from "../shared/ledger/lost-jobs.js";
import type { LedgerContext } from "../shared/ledger/run-ledger.js";
import type { Run } from "../shared/ledger/run.js";
import { describeJob, describeJobId, STALL_LIMIT_REASON, type DescribeJob } from "../shared/queue/describe-queue.js";

/** Handed items looked at per Redis round of checks. */
const PAGE = 500;

export interface LostJobsDeps {
  ledger: LedgerContext;
  queue: Queue<DescribeJob>;
  /** SUSPECT_QUEUE: where items with a crash go (absent: they stay on `queue`, not isolated). */
  suspects?: Queue<DescribeJob>;
  logger: Logger;
  /** Called with each loss's kind and the items it ended (metrics). */
  onSettled?: (losses: readonly JobLoss[], settled: SettledLosses) => void;
}

/** What Redis holds for a job id: still on its way, gone, or failed (and why). */
export type JobPresence = { kind: "alive" } | { kind: "missing" } | { kind: "failed"; stalled: boolean; error: string };

/** A job's presence from what `Queue.getJob` returned. Pure: the rule the reconciler applies. */
export function presenceOf(job: Pick<Job, "finishedOn" | "failedReason"> | undefined | null): JobPresence {
  if (!job) return { kind: "missing" };
  if (job.finishedOn === undefined || job.finishedOn === null) return { kind: "alive" };
  // Finished without an outcome in the ledger: failed, or (never, with removeOnComplete) completed.
  if (!job.failedReason) return { kind: "missing" };
  return { kind: "failed", stalled: job.failedReason === STALL_LIMIT_REASON, error: job.failedReason };
}

/** The loss a presence means for the ledger, or undefined while the job is alive. */
export function lossOf(seq: number, presence: JobPresence): JobLoss | undefined {
  if (presence.kind === "alive") return undefined;
  if (presence.kind === "missing") return { seq, kind: "missing" };
  return presence.stalled ? { seq, kind: "crashed" } : { seq, kind: "failed", error: presence.error };
}

/**
 * Postgres is the truth and Redis only transport: every item of `run` that was handed to Redis
 * and is still pending must have a live job. One whose job is gone (a flush, an eviction), or
 * failed without the worker recording an outcome (the stall limit after repeated worker deaths,
 * an error on its last attempt), is settled in the ledger and enqueued again under the same id,
 * unless it reached its limit: then it ends `worker_crashed` or `job_failed`. No `facet run
 * resume` needed. Returns how many items were enqueued again and how many ended.
 */
export async function healRun(deps: LostJobsDeps, run: Run): Promise<{ requeued: number; ended: number }> {
  let after = 0;
  let requeued = 0;
  let ended = 0;
  for (;;) {
    const page = await handedItems(deps.ledger, run.id, run.enqueued_seq, after, PAGE);
    if (page.length === 0) break;
    after = (page.at(-1) as HandedItem).seq;
    const presences = await Promise.all(page.map(async (item) => presenceOf(await queueFor(deps, item).getJob(describeJobId(run.id, item.seq)))));
    const losses = page.flatMap((item, i) => lossOf(item.seq, presences[i] as JobPresence) ?? []);
    if (losses.length === 0) continue;
    const settled = await settleLostJobs(deps.ledger, run.id, losses);
    // A failed job keeps its id until removed; remove it so the same id can be enqueued again.
    await Promise.all(page.flatMap((item, i) => (presences[i]?.kind === "failed" ? [queueFor(deps, item).remove(describeJobId(run.id, item.seq))] : [])));
    await enqueueAgain(deps, run, settled.requeue);
    deps.onSettled?.(losses, settled);
    requeued += settled.requeue.length;
    ended += settled.ended.length;
    const byKind = Object.fromEntries(["missing", "crashed", "failed"].map((k) => [k, losses.filter((l) => l.kind === k).length]));
    deps.logger.warn(
      { runId: run.id, lost: byKind, requeued: settled.requeue.length, ended: settled.ended.map((e) => ({ productId: e.productId, reason: e.reason })), crashLimit: CRASH_LIMIT },
      "jobs left Redis without an outcome; enqueued again",
    );
  }
  return { requeued, ended };
}

/** The queue an item's job lives on: the suspect queue once it has crashed a worker. */
export function queueFor(deps: Pick<LostJobsDeps, "queue" | "suspects">, item: Pick<HandedItem, "crashes">): Queue<DescribeJob> {
  return item.crashes > 0 && deps.suspects ? deps.suspects : deps.queue;
}

async function enqueueAgain(deps: LostJobsDeps, run: Run, items: readonly HandedItem[]): Promise<void> {
  const byQueue = new Map<Queue<DescribeJob>, HandedItem[]>();
  for (const item of items) {
    const queue = queueFor(deps, item);
    const queued = byQueue.get(queue);
    if (queued) queued.push(item);
    else byQueue.set(queue, [item]);
  }
  for (const [queue, queued] of byQueue) await queue.addBulk(queued.map((item) => describeJob(run, item)));
}
