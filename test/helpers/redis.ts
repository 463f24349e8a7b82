import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { redisConnection } from "../../shared/queue/describe-queue.js";

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A unique BullMQ key prefix per test, and a way to delete every key under it. */
export function testQueuePrefix(): string {
  return `facet-test-${randomBytes(4).toString("hex")}`;
}

export const testConnection = () => redisConnection(TEST_REDIS_URL);

export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** Poll `condition` until it holds or `timeoutMs` passes (then throw with `what`). */
export async function waitFor(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
