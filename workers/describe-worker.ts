import { Worker, type ConnectionOptions } from "bullmq";
import { repeatLimited, type Logger } from "../shared/logging/logger.js";
import { DESCRIBE_QUEUE, MAX_STALLED_COUNT, SUSPECT_QUEUE, type DescribeJob } from "../shared/queue/describe-queue.js";
import type { JobResult } from "./describe-processor.js";

export interface DescribeWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  /** Jobs held at once (WORKER_CONCURRENCY): fetching, waiting for a batch, or in the model. */
  concurrency: number;
  process: (job: import("bullmq").Job<DescribeJob>) => Promise<JobResult>;
  /** Sends batches that are still filling (called when the worker stops taking jobs). */
  flush: () => Promise<void>;
  logger: Logger;
  /** SHUTDOWN_DEADLINE_MS: in-flight jobs get this long to finish before they are handed back. */
  shutdownDeadlineMs: number;
  /** WORKER_LOCK_DURATION_MS (default 60 000). */
  lockDurationMs?: number;
  /** WORKER_STALLED_INTERVAL_MS (default 30 000). */
  stalledIntervalMs?: number;
  /** false: take no job until `start()`. Default true. */
  autorun?: boolean;
}

/**
 * A BullMQ worker over the describe queue. `stop()` stops taking jobs, lets the jobs in hand
 * finish (their partial batch leaves at once) within the deadline, then closes; jobs not
 * finished by then are left to BullMQ's stalled-job check, which hands them to another worker.
 */
export function startDescribeWorker(options: DescribeWorkerOptions) {
  const settings = (concurrency: number) => ({
    connection: options.connection,
    prefix: options.prefix,
    concurrency,
    // false: jobs are taken only after start(), once the caller has loaded the model (cli/commands/worker.ts).
    autorun: options.autorun ?? true,
    // A job may wait for its batch and the model: its lock is renewed every lockDuration/2
    // by a timer, which keeps running because inference happens off the event loop.
    lockDuration: options.lockDurationMs ?? 60_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: MAX_STALLED_COUNT,
  });
  const worker = new Worker<DescribeJob, JobResult>(DESCRIBE_QUEUE, (job) => options.process(job), settings(options.concurrency));
  // Items that crashed a worker before: one at a time, so a poison pill takes no other suspect with it.
  const suspects = new Worker<DescribeJob, JobResult>(SUSPECT_QUEUE, (job) => options.process(job), settings(1));
  const workers = [worker, suspects];
  const log = repeatLimited(options.logger);
  for (const w of workers) {
    w.on("error", (err) => {
      const kind = workerErrorKind(err.message);
      log(kind.level, { err, queue: w.name }, kind.message, kind.key);
    });
  }

  let stopping: Promise<void> | undefined;
  /** Begin taking jobs (BullMQ's run loops; they end when the workers close). */
  function start(): void {
    for (const w of workers) w.run().catch((err: unknown) => options.logger.error({ err, queue: w.name }, "worker loop failed"));
  }
  async function stop(): Promise<void> {
    stopping ??= (async () => {
      const closing = Promise.all(workers.map((w) => w.close()));
      // Jobs in hand may be waiting for company in a batch that will not fill now.
      await options.flush();
      const deadline = new Promise<"timeout">((resolve) => setTimeout(resolve, options.shutdownDeadlineMs, "timeout").unref());
      if ((await Promise.race([closing.then(() => "closed" as const), deadline])) === "timeout") {
        options.logger.warn({ deadlineMs: options.shutdownDeadlineMs }, "shutdown deadline passed; unfinished jobs go back to the queue");
        await Promise.all(workers.map((w) => w.close(true)));
      }
    })();
    return stopping;
  }
  return { workers, start, stop, stopped: () => stopping !== undefined };
}

/**
 * How a BullMQ worker's `error` event is logged: its level, message and the key that
 * rate-limits its repeats (repeatLimited). Jobs vanished from Redis (a flush: "Missing key/lock
 * for job …") and locks that could not be renewed (a flush, or a lock lost to another worker
 * after a stall) are expected in an outage, and the producer enqueues such items again
 * (producers/lost-jobs.ts): warn, one line per kind, not one per job. Anything else is an error,
 * rate-limited by its message with job ids left out.
 */
export function workerErrorKind(message: string): { level: "warn" | "error"; message: string; key: string } {
  if (/Missing (key|lock) for job/.test(message)) return { level: "warn", message: "a job in hand vanished from Redis (a flush?); the producer enqueues it again", key: "vanished" };
  if (/could not renew lock for job/.test(message)) return { level: "warn", message: "a job's lock could not be renewed (Redis flushed, or another worker took the job after a stall); the producer enqueues it again if it is lost", key: "lock_lost" };
  return { level: "error", message: "worker error", key: message.replace(/job \S+/g, "job …") };
}
