/**
 * The chaos test (test/chaos/chaos-run.ts): an apply run of a few hundred products through real
 * worker and producer processes while workers are SIGKILLed every few seconds (some while they
 * start), the producer is killed, Redis is flushed, Postgres restarts and S3 answers 503, 500,
 * resets, delays and stalls. It must finish by itself with one outcome per product.
 * `npm run bench:chaos` runs the same at 3,000 products against a fault-free baseline.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChaosStack, type ScenarioReport } from "./chaos/chaos-run.js";
import { privatePostgresUnavailable } from "./helpers/private-postgres.js";

const PRODUCTS = 200;
const SEED = 31;
const POISON = `syn-${SEED}-000040`;
const unavailable = privatePostgresUnavailable();
if (unavailable) console.warn(`chaos test skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)("chaos: a run finishes by itself under every fault at once", () => {
  let stack: ChaosStack;
  let report: ScenarioReport;

  beforeAll(async () => {
    stack = await ChaosStack.start({ products: PRODUCTS, seed: SEED, hostile: true });
    report = await stack.runScenario({
      faults: true,
      workers: 2,
      poisonPill: POISON,
      killEverySeconds: [3, 6],
      startupKillShare: 0.3,
      s3FaultRate: 0.05,
      timeoutMs: 360_000,
    });
  }, 420_000);

  afterAll(async () => {
    await stack?.close();
  });

  it("went through every fault", () => {
    expect(report.events.workerKills).toBeGreaterThanOrEqual(3);
    expect(report.events.startupKills).toBeGreaterThanOrEqual(1);
    expect(report.events).toMatchObject({ producerKills: 1, redisFlushes: 1, postgresRestarts: 1 });
    for (const kind of ["503", "500", "reset", "delay", "stall"] as const) expect(report.injected[kind], kind).toBeGreaterThanOrEqual(1);
    expect(report.healedByKind.missing ?? 0, "jobs the flush lost, enqueued again by the producer").toBeGreaterThan(0);
  });

  it("completes with no manual step, one outcome per product and every applied text replacing the original once", () => {
    expect(report.manualSteps).toBe(0);
    expect(report.counts).toMatchObject({ total: PRODUCTS, pending: 0, skipped: 0 });
    expect(report.counts.done + report.counts.failed).toBe(PRODUCTS);
    expect(report.outcomeErrors).toEqual([]);
    expect(report.previousTextErrors).toEqual([]);
    expect(report.statuses.applied ?? 0).toBeGreaterThan(PRODUCTS / 2);
  });

  it("ends the poison pill worker_crashed, each hostile photo with its own reason, and nothing else failed", () => {
    expect(report.poisonPill).toEqual({ state: "failed", reason: "worker_crashed" });
    for (const outcome of report.hostile) expect(outcome).toMatch(/: failed photo_[a-z_]+$/);
    const hostileFailures = Object.entries(report.failedByReason).filter(([reason]) => reason.startsWith("photo_")).reduce((n, [, k]) => n + k, 0);
    expect(hostileFailures).toBe(report.hostile.length);
    expect(report.counts.failed).toBe(report.hostile.length + 1);
  });

  it("every line every process printed is JSON, through the Postgres restart and the Redis flush", () => {
    expect(report.nonJsonLines).toEqual([]);
  });
});
