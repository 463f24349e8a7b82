import { Queue, type ConnectionOptions, type JobsOptions } from "bullmq";
import { z } from "zod";

/** The one queue of describe jobs. Runs share it; BullMQ priorities order them. */
export const DESCRIBE_QUEUE = "describe";

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

/** Attempts per job: transient failures (timeouts, 5xx, throttling, resets) are retried this often. */
export const DESCRIBE_ATTEMPTS = 6;

export const DESCRIBE_JOB_OPTIONS: JobsOptions = {
  attempts: DESCRIBE_ATTEMPTS,
  // 1 s, 2 s, 4 s, … with ±50% jitter, so a fleet retrying after an S3 hiccup doesn't stampede.
  backoff: { type: "exponential", delay: 1000, jitter: 0.5 },
  // The ledger keeps the outcome; Redis keeps nothing once a job is done.
  removeOnComplete: true,
  removeOnFail: true,
};

export function createDescribeQueue(connection: ConnectionOptions, prefix: string): Queue<DescribeJob> {
  return new Queue<DescribeJob>(DESCRIBE_QUEUE, { connection, prefix, defaultJobOptions: DESCRIBE_JOB_OPTIONS });
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
