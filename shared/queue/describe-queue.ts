import { Queue, type ConnectionOptions, type JobsOptions } from "bullmq";
import { z } from "zod";

/** The queue of describe jobs. Runs share it; BullMQ priorities order them. */
export const DESCRIBE_QUEUE = "describe";
/**
 * Jobs of items whose job was already failed by the stall limit (the workers holding them died
 * MAX_STALLED_COUNT + 1 times in a row): a worker takes one of these at a time, so a product that
 * kills its worker outside decoding kills only itself, and the products that shared its worker
 * are not counted as crashes again and again.
 */
export const SUSPECT_QUEUE = "describe-suspect";

/** A job asks a worker to describe one product of one run. Everything else is in the ledger. */
export const describeJobSchema = z.object({
  runId: z.string().min(1),
  seq: z.number().int().positive(),
  productId: z.string().min(1),
});
export type DescribeJob = z.infer<typeof describeJobSchema>;

/**
 * Deterministic job id: enqueueing the same item twice is refused by BullMQ while the first
 * job exists, so work is never doubled. (`:` is not allowed in BullMQ custom ids.)
 */
export function describeJobId(runId: string, seq: number): string {
  return `${runId}.${seq}`;
}

/** The job that asks for item `seq` of `run` (deterministic id, the run's priority): what the feeder and the healer enqueue. */
export function describeJob(run: { id: string; priority: number }, item: { seq: number; productId: string }) {
  return {
    name: "describe",
    data: { runId: run.id, seq: item.seq, productId: item.productId },
    opts: { jobId: describeJobId(run.id, item.seq), priority: run.priority },
  };
}

/** Attempts per job: transient failures (timeouts, 5xx, throttling, resets) are retried this often. */
export const DESCRIBE_ATTEMPTS = 6;

/**
 * Times a job may come back from a dead worker (its lock expired) before BullMQ fails it with
 * STALL_LIMIT_REASON. This is the backstop for deaths the decode journal cannot name (a death
 * outside decoding; workers/decode-guard.ts charges a death while decoding to that product
 * alone): the producer counts such failures against the item (run_items.crashes) and enqueues
 * it again, up to CRASH_LIMIT (shared/ledger/lost-jobs.ts), so a product that kills every worker
 * outside decoding ends `worker_crashed` after (MAX_STALLED_COUNT + 1) × CRASH_LIMIT deaths. 9,
 * not 2 or 4: under bench:chaos (a worker of two killed every 3–6 s, each holding 96 jobs)
 * innocent jobs are held by dying workers again and again (a job that comes back is taken
 * first, by the next worker, beside the others it came back with, the poison pill among them),
 * and at 2 and at 4 one or two of 3,000 innocent products ended `worker_crashed` in every run
 * (449 and 171 went through the stall limit). The one step a product's bytes can kill a worker
 * in, decoding, is named by the journal within DECODE_CRASH_LIMIT deaths, so the backstop can
 * be slow.
 */
export const MAX_STALLED_COUNT = 9;
/** BullMQ's failedReason for a job failed by the stall limit. */
export const STALL_LIMIT_REASON = "job stalled more than allowable limit";

export const DESCRIBE_JOB_OPTIONS: JobsOptions = {
  attempts: DESCRIBE_ATTEMPTS,
  // 1 s, 2 s, 4 s, … with ±50% jitter, so a fleet retrying after an S3 hiccup doesn't stampede.
  backoff: { type: "exponential", delay: 1000, jitter: 0.5 },
  // The ledger keeps the outcome; Redis keeps nothing once a job is done.
  removeOnComplete: true,
  // A failed job is one that ended without an outcome in the ledger (the stall limit, an error on
  // its last attempt): it stays until the producer has read why and settled its item
  // (producers/lost-jobs.ts), which removes it. The count only bounds Redis if no producer runs.
  removeOnFail: { count: 10_000 },
};

export function createDescribeQueue(connection: ConnectionOptions, prefix: string, name: typeof DESCRIBE_QUEUE | typeof SUSPECT_QUEUE = DESCRIBE_QUEUE): Queue<DescribeJob> {
  return new Queue<DescribeJob>(name, { connection, prefix, defaultJobOptions: DESCRIBE_JOB_OPTIONS });
}

/** BullMQ connection options from REDIS_URL. Workers need `maxRetriesPerRequest: null` (blocking commands). */
export function redisConnection(url: string): ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}
