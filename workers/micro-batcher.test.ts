import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MicroBatcher } from "./micro-batcher.js";

/** A run function whose batches finish only when the test says so. */
function controlledRun() {
  const batches: number[][] = [];
  const finishers: Array<() => void> = [];
  const run = (items: number[]) => {
    batches.push(items);
    return new Promise<number[]>((resolve) => finishers.push(() => resolve(items.map((x) => x * 10))));
  };
  return { batches, run, finish: (i: number) => finishers[i]?.() };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("MicroBatcher", () => {
  it("sends a full batch at once, without waiting", async () => {
    const c = controlledRun();
    const b = new MicroBatcher({ maxSize: 3, maxWaitMs: 1000, run: c.run });
    const results = [1, 2, 3].map((x) => b.submit(x));
    expect(c.batches).toEqual([[1, 2, 3]]);
    c.finish(0);
    expect(await Promise.all(results)).toEqual([10, 20, 30]);
  });

  it("sends a partial batch when its first item has waited maxWaitMs", async () => {
    const c = controlledRun();
    const sizes: number[] = [];
    const b = new MicroBatcher({ maxSize: 8, maxWaitMs: 100, run: c.run, onBatch: (n) => sizes.push(n) });
    const r1 = b.submit(1);
    await vi.advanceTimersByTimeAsync(60);
    const r2 = b.submit(2);
    await vi.advanceTimersByTimeAsync(39);
    expect(c.batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.batches).toEqual([[1, 2]]);
    expect(sizes).toEqual([2]);
    c.finish(0);
    expect(await Promise.all([r1, r2])).toEqual([10, 20]);
  });

  it("fills the next batch while one runs, and sends it as soon as the model is free", async () => {
    const c = controlledRun();
    const b = new MicroBatcher({ maxSize: 2, maxWaitMs: 1000, run: c.run });
    const all = [1, 2, 3, 4, 5].map((x) => b.submit(x));
    expect(c.batches).toEqual([[1, 2]]); // one in flight; 3, 4 and 5 wait
    expect(b.waiting).toBe(3);
    c.finish(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(c.batches).toEqual([[1, 2], [3, 4]]);
    c.finish(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(c.batches).toEqual([[1, 2], [3, 4], [5]]); // partial, but it already waited
    c.finish(2);
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50]);
  });

  it("with partialBelow, lets a partial batch fill while enough batches run, and sends it once the model would idle or it has waited", async () => {
    const c = controlledRun();
    const b = new MicroBatcher({ maxSize: 4, maxWaitMs: 100, maxInFlight: 3, partialBelow: 2, run: c.run });
    const all = Array.from({ length: 12 }, (_, i) => b.submit(i)); // three full batches run
    expect(c.batches.length).toBe(3);
    const late = [b.submit(12)];
    c.finish(0); // two still run: the partial batch [12] goes on filling
    await vi.advanceTimersByTimeAsync(0);
    expect(c.batches.length).toBe(3);
    late.push(b.submit(13), b.submit(14));
    c.finish(1); // one runs now: a thread would idle, so [12, 13, 14] leaves at once
    await vi.advanceTimersByTimeAsync(0);
    expect(c.batches[3]).toEqual([12, 13, 14]);
    // With two running, a lone item still leaves maxWaitMs after it came.
    const lone = b.submit(15);
    await vi.advanceTimersByTimeAsync(99);
    expect(c.batches.length).toBe(4);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.batches[4]).toEqual([15]);
    for (let i = 2; i < 5; i++) c.finish(i);
    expect(await Promise.all([...all, ...late, lone])).toEqual(Array.from({ length: 16 }, (_, i) => i * 10));
  });

  it("sends the batch an item joins with `now` at once, and waits for a slot when the model is busy", async () => {
    const c = controlledRun();
    const b = new MicroBatcher({ maxSize: 8, maxWaitMs: 1000, run: c.run });
    const first = [b.submit(1), b.submit(2, { now: true })];
    expect(c.batches).toEqual([[1, 2]]);
    const second = b.submit(3, { now: true }); // the one slot is busy: it leaves when the slot frees
    expect(c.batches).toEqual([[1, 2]]);
    c.finish(0);
    expect(await Promise.all(first)).toEqual([10, 20]);
    expect(c.batches).toEqual([[1, 2], [3]]);
    c.finish(1);
    expect(await second).toBe(30);
  });

  it("fails only the items of a batch that throws", async () => {
    let calls = 0;
    const b = new MicroBatcher<number, number>({
      maxSize: 2,
      maxWaitMs: 10,
      run: async (items) => {
        calls += 1;
        if (calls === 1) throw new Error("model crashed");
        return items;
      },
    });
    const results = await Promise.allSettled([1, 2, 3, 4].map((x) => b.submit(x)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "fulfilled", "fulfilled"]);
  });

  it("flush sends what waits and resolves when nothing runs", async () => {
    const b = new MicroBatcher<number, number>({ maxSize: 10, maxWaitMs: 60_000, run: async (items) => items });
    const r = b.submit(7);
    await b.flush();
    expect(await r).toBe(7);
    expect(b.active).toBe(0);
  });
});
