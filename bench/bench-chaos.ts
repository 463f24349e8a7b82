/**
 * `npm run bench:chaos`: the chaos test's scenario (test/chaos/chaos-run.ts) at catalogue scale.
 * Seeds the demo catalogue (with hostile photo files) into a private Postgres cluster and an S3
 * server, then runs the same apply run twice through real `facet worker` and `facet producer`
 * processes: once with no faults (the baseline), once under chaos (workers SIGKILLed every few
 * seconds, some while starting; the producer killed; Redis flushed; Postgres restarted; S3
 * failing 5% of requests with 503, 500, resets, delays and stalls; a poison pill). Prints a table:
 * both times and their ratio (target ≤ 2×), the retries by cause, the jobs the producer enqueued
 * again by kind, the faults injected, the checks of exactly-once and the manual steps (must be 0).
 *
 * Options: --products N (default 3000), --workers N (default 2), --kill-every MIN,MAX seconds
 * (default 3,6), --lock-ms N (WORKER_LOCK_DURATION_MS, default 4000; the stalled check runs every half),
 * --logs FILE (every process's output under chaos, `role<TAB>line`). Needs root (pg_createcluster), like the chaos test.
 */
import { parseArgs } from "node:util";
import { ChaosStack, type ScenarioReport } from "../test/chaos/chaos-run.js";
import { privatePostgresUnavailable } from "../test/helpers/private-postgres.js";

const { values } = parseArgs({
  options: {
    products: { type: "string", default: "3000" },
    workers: { type: "string", default: "2" },
    "kill-every": { type: "string", default: "3,6" },
    "lock-ms": { type: "string", default: "4000" },
    logs: { type: "string" },
  },
});
const PRODUCTS = positive("products", values.products);
const WORKERS = positive("workers", values.workers);
const LOCK_MS = positive("lock-ms", values["lock-ms"]);
const killEvery = values["kill-every"].split(",").map(Number);
if (killEvery.length !== 2 || !killEvery.every((s) => s > 0) || (killEvery[0] as number) > (killEvery[1] as number)) {
  console.error(`bench:chaos: --kill-every must be MIN,MAX seconds with 0 < MIN ≤ MAX, got '${values["kill-every"]}'`);
  process.exit(2);
}
const unavailable = privatePostgresUnavailable();
if (unavailable) {
  console.error(`bench:chaos: ${unavailable}`);
  process.exit(2);
}

const SEED = 41;
const POISON = `syn-${SEED}-000100`;
const started = performance.now();
const stack = await ChaosStack.start({ products: PRODUCTS, seed: SEED, hostile: true });
console.log(`seeded ${PRODUCTS.toLocaleString("en")} products (${stack.hostileProducts.size} with hostile photo files) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
let baseline: ScenarioReport;
let chaos: ScenarioReport;
try {
  const scenario = { workers: WORKERS, killEverySeconds: killEvery as [number, number], startupKillShare: 0.3, s3FaultRate: 0.05, timeoutMs: 3_600_000, lockMs: LOCK_MS, onProgress: (line: string) => console.log(line) };
  console.log("baseline: no faults");
  baseline = await stack.runScenario({ ...scenario, faults: false });
  console.log(`  ${baseline.seconds.toFixed(1)} s`);
  console.log("chaos");
  chaos = await stack.runScenario({ ...scenario, faults: true, poisonPill: POISON, ...(values.logs ? { logFile: values.logs } : {}) });
  console.log(`  ${chaos.seconds.toFixed(1)} s`);
} finally {
  await stack.close();
}

const ratio = chaos.seconds / baseline.seconds;
const list = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ") || "none";
const exact = (r: ScenarioReport) => r.counts.pending === 0 && r.counts.done + r.counts.failed === PRODUCTS && r.outcomeErrors.length === 0 && r.previousTextErrors.length === 0;
const hostileOk = (r: ScenarioReport) => r.hostile.every((h) => /: failed photo_[a-z_]+$/.test(h));
const rows: Array<[string, string, string]> = [
  ["products (hostile photo files)", `${PRODUCTS.toLocaleString("en")} (${chaos.hostile.length})`, "≥ 3,000"],
  ["worker processes; WORKER_LOCK_DURATION_MS", `${WORKERS}; ${LOCK_MS}`, ""],
  ["time without faults", `${baseline.seconds.toFixed(1)} s`, ""],
  ["time under chaos", `${chaos.seconds.toFixed(1)} s`, ""],
  ["chaos ÷ no faults", `${ratio.toFixed(2)}×`, `≤ 2× ${ratio <= 2 ? "PASS" : "FAIL"}`],
  ["workers SIGKILLed (ready / starting up)", `${chaos.events.workerKills} / ${chaos.events.startupKills}`, `every ${killEvery.join("–")} s`],
  ["producer kills, Redis flushes, Postgres restarts", `${chaos.events.producerKills}, ${chaos.events.redisFlushes}, ${chaos.events.postgresRestarts}`, "1, 1, 1"],
  ["S3 faults injected", list(chaos.injected), "5% of requests"],
  ["worker retries by cause", list(chaos.retriesByCause), ""],
  ["jobs enqueued again by the producer, by kind", list(chaos.healedByKind), ""],
  ["items failed, by reason", list(chaos.failedByReason), ""],
  ["poison pill", chaos.poisonPill ? `${chaos.poisonPill.state} ${chaos.poisonPill.reason}` : "?", "failed worker_crashed"],
  ["hostile photos each failed with a photo_ reason", hostileOk(chaos) && hostileOk(baseline) ? "yes" : `no: ${chaos.hostile.join("; ")}`, "yes"],
  ["one outcome per product; applied texts replaced the original once", exact(chaos) && exact(baseline) ? "yes" : `no: ${[...chaos.outcomeErrors, ...chaos.previousTextErrors].slice(0, 5).join("; ")}`, "yes"],
  ["lines that are not JSON (all processes)", String(chaos.nonJsonLines.length + baseline.nonJsonLines.length), "0"],
  ["manual steps", String(chaos.manualSteps), "0"],
];
console.log("\n| measure | value | target |");
console.log("|---|---:|---|");
for (const [measure, value, target] of rows) console.log(`| ${measure} | ${value} | ${target} |`);
for (const line of chaos.nonJsonLines.slice(0, 5)) console.log(`not JSON: ${line}`);

function positive(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench:chaos: --${flag} must be a positive integer, got '${raw}'`);
    process.exit(2);
  }
  return n;
}
