/**
 * `npm run bench:api`: requests/s and latency of `POST /v1/describe` on a real `facet serve`
 * process (the compiled dist/, default settings, the demo model) at 1, 16 and 64 concurrent
 * requests, each a one-photo upload of a demo product, driven by autocannon. Cross-request
 * batching is what makes 64 at once faster than one at a time: the table ends with the ratio
 * (target ≥ 3×) and p95 at 16.
 *
 * Three rounds of 1, 16, 64 (8 s each after a 3 s warm-up), interleaved so that machine noise
 * falls on every level; figures are the medians of the rounds. Latency percentiles are computed
 * from every response time (autocannon's own table has no p95).
 *
 * Flags: --seconds N (per level and round, default 8), --rounds N (default 3).
 * The per-token rate limit (SERVE_RATE_PER_MINUTE, 600 by default) would cap one token at
 * 10 requests/s, so the bench raises it for its token; everything else is the default.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import { DEMO_MODEL_DIR } from "../cli/commands/describe.js";
import { generateCatalogue } from "../models/catalogue/index.js";
import { createToken } from "../shared/ledger/api-tokens.js";
import { spawnFacet, type FacetProcess } from "../test/helpers/facet-process.js";
import { createTestDb } from "../test/helpers/postgres.js";

const LEVELS = [1, 16, 64] as const;
const TARGET_RATIO = 3;

const { values } = parseArgs({ options: { seconds: { type: "string", default: "8" }, rounds: { type: "string", default: "3" } } });
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
for (const [flag, n] of [["seconds", seconds], ["rounds", rounds]] as const) {
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench:api: --${flag} must be a positive integer, got '${values[flag]}'`);
    process.exit(2);
  }
}

interface Level {
  concurrency: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** One level for `duration` seconds: requests/s (2xx only), exact latency percentiles, and anything that was not a 200. */
async function measure(url: string, headers: Record<string, string>, body: Buffer, concurrency: number, duration: number): Promise<Level> {
  const times: number[] = [];
  let errors = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url, method: "POST", headers, body, connections: concurrency, pipelining: 1, duration, timeout: 60 }, (error, done) => (error ? reject(error) : resolve(done)));
    instance.on("response", (_client, status, _bytes, responseTime) => {
      if (status === 200) times.push(responseTime);
      else errors += 1;
    });
  });
  errors += result.errors + result.timeouts;
  times.sort((a, b) => a - b);
  return { concurrency, rps: times.length / duration, p50: percentile(times, 50), p95: percentile(times, 95), p99: percentile(times, 99), errors };
}

async function untilServing(server: FacetProcess): Promise<string> {
  for (;;) {
    const line = server.output().split("\n").find((l) => l.includes('"msg":"serving"'));
    if (line) return (JSON.parse(line) as { address: string }).address;
    if (server.proc.exitCode !== null) throw new Error(`facet serve exited ${server.proc.exitCode}: ${server.output().slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const t = await createTestDb();
const tmp = await mkdtemp(path.join(os.tmpdir(), "facet-bench-api-"));
let server: FacetProcess | undefined;
try {
  await cp(DEMO_MODEL_DIR, path.join(tmp, "models/1.0.0"), { recursive: true });
  const { token } = await createToken(t.ledger, { name: "bench:api", role: "reviewer" });
  let photo: Uint8Array | undefined;
  for await (const p of generateCatalogue({ seed: 4711, count: 1 })) photo = p.photos[0];
  const form = new FormData();
  form.append("photos", new Blob([photo as Uint8Array<ArrayBuffer>], { type: "image/jpeg" }), "photo.jpg");
  const encoded = new Response(form);
  const body = Buffer.from(await encoded.arrayBuffer());
  const headers = { authorization: `Bearer ${token}`, "content-type": encoded.headers.get("content-type") as string };

  server = spawnFacet(["serve", "--port", "0"], {
    ...t.env,
    MODEL_STORE: pathToFileURL(path.join(tmp, "models")).href,
    MODEL_CACHE_DIR: path.join(tmp, "cache"),
    METRICS_PORT: "0",
    SERVE_RATE_PER_MINUTE: "1000000",
  });
  const url = `${await untilServing(server)}/v1/describe`;
  console.log(`facet serve at ${url} (default BATCH_SIZE, INFERENCE_THREADS, SERVE_BATCH_MAX_WAIT_MS); ${rounds} rounds of ${LEVELS.join(", ")} concurrent for ${seconds} s each`);
  await measure(url, headers, body, 16, 3); // warm-up: the first batches, V8's compiler

  const byLevel = new Map<number, Level[]>(LEVELS.map((c) => [c, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const c of LEVELS) {
      const level = await measure(url, headers, body, c, seconds);
      byLevel.get(c)?.push(level);
      console.log(`  round ${round}, ${c} concurrent: ${level.rps.toFixed(1)} requests/s, p50 ${level.p50.toFixed(1)} ms, p95 ${level.p95.toFixed(1)} ms, p99 ${level.p99.toFixed(1)} ms${level.errors ? `, ${level.errors} errors` : ""}`);
    }
  }
  const med = (c: number, key: keyof Level) => median((byLevel.get(c) ?? []).map((l) => l[key]));
  console.log("\n| concurrent requests | requests/s | p50 ms | p95 ms | p99 ms | errors (all rounds) |");
  console.log("|---:|---:|---:|---:|---:|---:|");
  for (const c of LEVELS) {
    const errors = (byLevel.get(c) ?? []).reduce((n, l) => n + l.errors, 0);
    console.log(`| ${c} | ${med(c, "rps").toFixed(1)} | ${med(c, "p50").toFixed(0)} | ${med(c, "p95").toFixed(0)} | ${med(c, "p99").toFixed(0)} | ${errors} |`);
  }
  const ratio = med(64, "rps") / med(1, "rps");
  const perRound = (byLevel.get(64) ?? []).map((l, i) => (l.rps / ((byLevel.get(1) ?? [])[i]?.rps ?? Number.NaN)).toFixed(2));
  console.log(`\nthroughput at 64 ÷ at 1: ${ratio.toFixed(2)}× (rounds: ${perRound.join(", ")}) — target ≥ ${TARGET_RATIO}× ${ratio >= TARGET_RATIO ? "PASS" : "FAIL"}`);
  console.log(`p95 at 16 concurrent: ${med(16, "p95").toFixed(0)} ms (median of the rounds)`);
  process.exitCode = ratio >= TARGET_RATIO ? 0 : 1;
} finally {
  server?.proc.kill("SIGTERM");
  if (server) await server.exited;
  await t.drop();
  await rm(tmp, { recursive: true, force: true });
}
