import { Semaphore } from "async-mutex";
import type { ConnectionOptions, Job } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";

/**
 * Decodes at once, each journalled: libuv's thread pool runs 4 (its default size), so a decode
 * journalled is one running, not one queued behind others. A death then charges at most these.
 */
const SLOTS = 4;

/** What the guard needs of a job: which one, and its attempt. */
export type GuardedJob = Pick<Job, "id" | "attemptsStarted">;

export interface DecodeGuardOptions {
  /** The queues' Redis (redisConnection(REDIS_URL)): the guard opens its own connection there. */
  connection: ConnectionOptions;
  /** Its connection's errors (Redis down or restarting): log them as the queues' are. */
  onError: (error: Error) => void;
  /** QUEUE_PREFIX: the journal's keys live beside the queues'. */
  prefix: string;
  /** How long an entry outlives a worker that died without clearing it, s (its job may never be taken back). Default one day. */
  ttlSeconds?: number;
}

/**
 * Who killed the worker. The one step that runs native code over a product's own bytes is
 * decoding its photos (sharp, libvips), so that is where a poison pill kills its worker. Each
 * decode is journalled in Redis (a key per job, set before, deleted after), so a worker that
 * takes a job (back from a dead worker, or moved to the suspect queue) and finds its entry knows
 * that the dead worker was decoding this product's photos when it died, and nothing the other
 * jobs it held were doing. The products beside it are not charged.
 *
 * A suspect decodes alone: it waits for the decodes in flight, and no other decode starts in
 * its worker until it is done. If it kills again, nothing else was being decoded.
 */
export function createDecodeGuard(options: DecodeGuardOptions) {
  const ttl = options.ttlSeconds ?? 86_400;
  // A command fails after two reconnects instead of waiting for Redis for ever: the job is retried.
  // Connected at once (not lazily): the first decode's entry must not wait in ioredis's offline queue.
  const redis = new Redis({ ...(options.connection as RedisOptions), enableAutoPipelining: false, maxRetriesPerRequest: 2 });
  redis.on("error", options.onError);
  const slots = new Semaphore(SLOTS);
  // By job id alone: an item's job keeps its id when the producer moves it to the suspect queue.
  const keyOf = (job: GuardedJob) => `${options.prefix}:facet:decoding:${job.id}`;
  return {
    /** Decode `job`'s photos in `fn`, journalled; `alone` (a suspect): with no other decode in this worker. */
    async decode<T>(job: GuardedJob, alone: boolean, fn: () => Promise<T>): Promise<T> {
      return slots.runExclusive(async () => {
        // On the guard's own connection, without auto-pipelining, a command is written to the
        // socket as it is sent (when connected), so the entry is on its way to Redis before the
        // decode starts, and a death while decoding finds it; the decode does not wait for the
        // round trip (bench:pipeline: end to end / limit 0.84–0.88 awaiting it, 0.98 with no journal).
        const written = redis.set(keyOf(job), `${job.id}@${job.attemptsStarted}`, "EX", ttl);
        try {
          const [result] = await Promise.all([fn(), written]);
          return result;
        } finally {
          // Not awaited: the slot goes to the next decode at once, not after a round trip. A
          // death before this reaches Redis (the same tick) leaves an entry that charges a
          // finished decode once; a failed delete leaves one that the TTL clears.
          redis.del(keyOf(job)).catch(options.onError);
        }
      }, alone ? SLOTS : 1);
    },
    /** The entry `job`'s last holder left if it died decoding this job's photos (a mark naming that decode); undefined if it did not. */
    async diedDecoding(job: GuardedJob): Promise<string | undefined> {
      return (await redis.get(keyOf(job))) ?? undefined;
    },
    /** Clear the entry once its death is charged. */
    async forget(job: GuardedJob): Promise<void> {
      await redis.del(keyOf(job));
    },
    close(): void {
      redis.disconnect();
    },
  };
}

export type DecodeGuard = ReturnType<typeof createDecodeGuard>;
