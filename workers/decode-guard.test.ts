import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { deletePrefix, TEST_REDIS_URL, testConnection, testQueuePrefix, waitFor } from "../test/helpers/redis.js";
import { createDecodeGuard, type GuardedJob } from "./decode-guard.js";

const prefix = testQueuePrefix();
const errors: Error[] = [];
const guard = createDecodeGuard({ connection: testConnection(), prefix, onError: (e) => errors.push(e) });
const redis = new Redis(TEST_REDIS_URL);
afterAll(async () => {
  guard.close();
  await deletePrefix(prefix);
  redis.disconnect();
});

const job = (id: string, over: Partial<GuardedJob> = {}): GuardedJob => ({ id, attemptsStarted: 1, ...over });
/** A promise with its resolver, to hold a decode open. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe("the decode guard", () => {
  it("journals a decode while it runs, and a job taken back from a worker that died decoding it finds the entry", async () => {
    const held = gate();
    const decoding = guard.decode(job("a"), false, async () => {
      await held.opened;
      return "pixels";
    });
    const key = `${prefix}:facet:decoding:a`;
    await waitFor("journal entry written", async () => (await redis.get(key)) !== null, 5000);
    expect(await redis.get(key)).toBe("a@1");
    expect(await redis.ttl(key)).toBeGreaterThan(3600);
    // The worker "dies" here: the entry stays, and the next holder (attemptsStarted 2) finds it.
    expect(await guard.diedDecoding(job("a", { attemptsStarted: 2 }))).toBe("a@1");
    held.open();
    expect(await decoding).toBe("pixels");
    // Cleared without holding the slot for the round trip: soon after, not before the result.
    await waitFor("journal entry cleared", async () => (await redis.get(key)) === null, 5000);
    expect(await guard.diedDecoding(job("a", { attemptsStarted: 3 }))).toBeUndefined();
  });

  it("clears the entry when the decode throws (a bad photo is not a crash)", async () => {
    await expect(guard.decode(job("b"), false, async () => Promise.reject(new Error("bad jpeg")))).rejects.toThrow("bad jpeg");
    await waitFor("journal entry cleared", async () => (await redis.get(`${prefix}:facet:decoding:b`)) === null, 5000);
  });

  it("forget clears an entry left by a dead worker", async () => {
    await redis.set(`${prefix}:facet:decoding:c`, "c@4");
    await guard.forget(job("c"));
    expect(await guard.diedDecoding(job("c"))).toBeUndefined();
  });

  it("decodes a suspect alone: it waits for the decodes in flight, and none starts until it is done", async () => {
    const order: string[] = [];
    const first = gate();
    const suspectHeld = gate();
    const a = guard.decode(job("d1"), false, async () => {
      order.push("d1 start");
      await first.opened;
      order.push("d1 end");
    });
    await waitFor("d1 decoding", () => order.includes("d1 start"), 5000);
    const suspect = guard.decode(job("s"), true, async () => {
      order.push("suspect start");
      await suspectHeld.opened;
      order.push("suspect end");
    });
    const b = guard.decode(job("d2"), false, async () => {
      order.push("d2 start");
    });
    // d2 queued behind the suspect, which waits for d1.
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(["d1 start"]);
    first.open();
    await waitFor("suspect decoding", () => order.includes("suspect start"), 5000);
    expect(order).toEqual(["d1 start", "d1 end", "suspect start"]);
    suspectHeld.open();
    await Promise.all([a, suspect, b]);
    expect(order).toEqual(["d1 start", "d1 end", "suspect start", "suspect end", "d2 start"]);
    expect(errors).toEqual([]);
  });
});
