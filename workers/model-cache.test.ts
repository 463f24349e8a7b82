import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { generateCatalogue } from "../models/catalogue/index.js";
import type { ModelBundle } from "../models/runtime/bundle.js";
import { DEFAULT_SESSION_SETTINGS } from "../models/runtime/session-settings.js";
import { BundleError, ConfigError } from "../shared/errors/index.js";
import { createLogger } from "../shared/logging/logger.js";
import { startS3, type TestS3 } from "../test/helpers/s3-server.js";
import { asVersion, countingSource, publish, readDemoBundle, seedLayout } from "../shared/model-store/demo-store-fixture.js";
import { createModelCache, type ModelCache, type ModelCacheOptions, type ModelLease, type ModelLoad } from "./model-cache.js";
import { S3Store } from "../shared/storage/s3-store.js";

let s3: TestS3;
let bucket: string;
let temp: string;
let photo: Uint8Array;

beforeAll(async () => {
  temp = await mkdtemp(path.join(os.tmpdir(), "facet-model-cache-"));
  s3 = await startS3();
  bucket = `model-cache-${randomUUID().slice(0, 8)}`;
  await s3.createBucket(bucket);
  const put = (key: string, bytes: Uint8Array) => s3.put(bucket, key, bytes);
  const demo = await readDemoBundle();
  await seedLayout(put, demo, "models/", "corrupt/");
  // Every hash right, but the decoder graph named as the encoder: only opening the graphs finds it.
  const misnamed = asVersion(demo, "1.0.0");
  const manifest = JSON.parse(Buffer.from(misnamed.get("manifest.json") as Uint8Array).toString("utf8")) as { encoder: { file: string } };
  manifest.encoder.file = "decoder.onnx";
  misnamed.set("manifest.json", Buffer.from(JSON.stringify(manifest)));
  await publish(put, "misnamed-graph/", "1.0.0", misnamed);
  for await (const { photos } of generateCatalogue({ seed: 5, count: 1 })) photo = photos[0] as Uint8Array;
});
afterAll(async () => {
  await s3?.close();
  await rm(temp, { recursive: true, force: true });
});

/** A cache over the test store with its own cache folder, counting store calls and loads; closed after the test. */
async function testCache(overrides: Partial<ModelCacheOptions> & { prefix?: string; cacheDir?: string } = {}) {
  const counted = countingSource(new S3Store(`s3://${bucket}/${overrides.prefix ?? "models"}`, s3.client));
  const loads: ModelLoad[] = [];
  const cacheDir = overrides.cacheDir ?? (await mkdtemp(path.join(temp, "cache-")));
  const cache = createModelCache({
    source: counted.source,
    cacheDir,
    settings: DEFAULT_SESSION_SETTINGS,
    onLoad: (load) => loads.push(load),
    ...overrides,
  });
  opened.push(cache);
  return { cache, calls: counted.calls, loads, cacheDir };
}
const opened: ModelCache[] = [];
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
});

/** Describe one product through the lease, as the worker does: its preprocessor, then its engine. */
async function describeOne(lease: ModelLease) {
  const [outcome] = await lease.engine.infer([await lease.preprocessor.preprocess({ id: "p1", photos: [photo] })]);
  return outcome;
}

/** The lease's in-process bundle (no inference threads). */
function sessionsOf(lease: ModelLease): ModelBundle {
  expect(lease.bundle).toBeDefined();
  return lease.bundle as ModelBundle;
}

describe("model cache", () => {
  it("shares one load between concurrent requests, 'latest' included, and records its load time", async () => {
    const { cache, calls, loads } = await testCache();
    const leases = await Promise.all([cache.acquire("1.1.0"), cache.acquire("latest"), cache.acquire("1.1.0")]);
    expect(leases.map((l) => l.version)).toEqual(["1.1.0", "1.1.0", "1.1.0"]);
    expect(new Set(leases.map((l) => l.bundle)).size).toBe(1);
    expect(new Set(leases.map((l) => l.preprocessor)).size).toBe(1);
    expect(leases[0]?.spec).not.toHaveProperty("encoder"); // in process, the sessions are the lease's `bundle`
    expect(loads).toHaveLength(1);
    expect(calls.get).toBe(1); // one manifest download
    expect(cache.loaded()).toEqual([{ version: "1.1.0", fetchMs: expect.any(Number), loadMs: expect.any(Number), downloaded: true, inUse: 3, inferenceThreads: 1 }]);
    expect(cache.loaded()[0]?.loadMs).toBeGreaterThan(0);

    expect((await describeOne(leases[0] as ModelLease))?.ok).toBe(true);
    for (const lease of leases) lease.release();
    expect(cache.loaded()[0]?.inUse).toBe(0);
  });

  it("closes the least recently used bundle beyond maxLoaded, but only once its lease is released", async () => {
    const { cache, loads } = await testCache({ maxLoaded: 1 });
    const old = await cache.acquire("1.0.0");
    const closeOld = vi.spyOn(sessionsOf(old), "close");
    const current = await cache.acquire("1.1.0");
    const closeCurrent = vi.spyOn(sessionsOf(current), "close");

    // Over the limit, but both are held: neither is closed.
    expect(cache.loaded().map((m) => m.version)).toEqual(["1.0.0", "1.1.0"]);
    expect(closeOld).not.toHaveBeenCalled();
    expect((await describeOne(old))?.ok).toBe(true);

    old.release();
    old.release(); // a second release changes nothing
    await vi.waitFor(() => expect(closeOld).toHaveBeenCalledTimes(1), { timeout: 5_000, interval: 10 });
    expect(cache.loaded().map((m) => m.version)).toEqual(["1.1.0"]);
    current.release();
    expect(closeCurrent).not.toHaveBeenCalled();

    // Asked for again, the evicted version loads again, from the local copy.
    await cache.use("1.0.0", async (lease) => expect(lease.spec.manifest.version).toBe("1.0.0"));
    expect(loads.map((l) => [l.version, l.downloaded])).toEqual([
      ["1.0.0", true],
      ["1.1.0", true],
      ["1.0.0", false],
    ]);
    await vi.waitFor(() => expect(closeCurrent).toHaveBeenCalledTimes(1), { timeout: 5_000, interval: 10 });
  });

  it("does not keep a failed load: an unknown version and a corrupt bundle fail every time, leaving no bundle", async () => {
    const { cache } = await testCache();
    const unknown = cache.acquire("9.9.9");
    await expect(unknown).rejects.toBeInstanceOf(ConfigError);
    await expect(unknown).rejects.toThrow(`model version "9.9.9" is not in s3://${bucket}/models (available: 0.9.0, 1.0.0, 1.1.0, 2.0.0-rc.1)`);

    const corrupt = await testCache({ prefix: "corrupt" });
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(corrupt.cache.acquire("1.0.0")).rejects.toBeInstanceOf(BundleError);
    }
    expect(corrupt.calls.get).toBe(2);
    expect(corrupt.cache.loaded()).toEqual([]);
    expect(await readdir(corrupt.cacheDir)).toEqual([]);
  });

  it("reuses a local copy without asking the store, and downloads again one damaged on disk", async () => {
    const first = await testCache();
    await first.cache.use("1.0.0", async () => undefined);
    await first.cache.close();

    const second = await testCache({ cacheDir: first.cacheDir });
    await second.cache.use("1.0.0", async () => undefined);
    expect(second.calls).toEqual({ list: 0, get: 0, stream: 0 });
    await second.cache.close();

    await writeFile(path.join(first.cacheDir, "1.0.0", "tokenizer.json"), "{}");
    const lines: string[] = [];
    const logger = createLogger({ level: "warn", role: "test", destination: { write: (line: string) => lines.push(line) } });
    const third = await testCache({ cacheDir: first.cacheDir, logger });
    await third.cache.use("1.0.0", async (lease) => expect(lease.spec.tokenizer.size).toBeGreaterThan(4));
    expect(third.loads).toMatchObject([{ version: "1.0.0", downloaded: true }]);
    expect(lines.map((l) => (JSON.parse(l) as { msg: string; modelVersion: string }))).toMatchObject([
      { msg: "local copy of the model is invalid; downloading it again", modelVersion: "1.0.0" },
    ]);
    expect(await readdir(first.cacheDir)).toEqual(["1.0.0"]);
  });

  it("closes every bundle on close() and refuses to acquire afterwards", async () => {
    const { cache } = await testCache();
    const lease = await cache.acquire("1.0.0");
    const close = vi.spyOn(sessionsOf(lease), "close");
    await cache.close();
    expect(close).toHaveBeenCalledTimes(1);
    expect(cache.loaded()).toEqual([]);
    await expect(cache.acquire("1.0.0")).rejects.toThrow("model cache is closed");
    lease.release();
  });

  describe("with inference threads", () => {
    it("opens no session on the main thread: the lease has the spec and a preprocessor, the threads run the model", async () => {
      const create = vi.spyOn(ort.InferenceSession, "create");
      try {
        const { cache } = await testCache({ inferenceThreads: 2 });
        const lease = await cache.acquire("1.0.0");
        expect(create).not.toHaveBeenCalled();
        expect(lease.bundle).toBeUndefined();
        expect(lease.spec).not.toHaveProperty("encoder");
        expect(lease.spec.manifest.version).toBe("1.0.0");
        expect(cache.loaded()).toMatchObject([{ version: "1.0.0", inferenceThreads: 2 }]);
        const outcome = await describeOne(lease);
        expect(outcome).toMatchObject({ id: "p1", ok: true, model: { version: "1.0.0" } });
        lease.release();
      } finally {
        create.mockRestore();
      }
    });

    it("fails the load with a BundleError naming the graph when the threads refuse it, and fetches a local copy once more first", async () => {
      const lines: string[] = [];
      const logger = createLogger({ level: "warn", role: "test", destination: { write: (line: string) => lines.push(line) } });
      const { cache, calls, cacheDir } = await testCache({ prefix: "misnamed-graph", inferenceThreads: 1, logger });
      const refused = `${path.join(cacheDir, "1.0.0", "decoder.onnx")}: inputs: expected images; graph has tokens`;
      // Downloaded just now: refused at once.
      await expect(cache.acquire("1.0.0")).rejects.toBeInstanceOf(BundleError);
      expect(lines).toEqual([]);
      // The local copy is kept (its hashes are right) and doubted on the next load: fetched again, refused again.
      await expect(cache.acquire("1.0.0")).rejects.toThrow(refused);
      expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["local copy of the model is invalid; downloading it again"]);
      expect(calls.get).toBe(2);
      expect(cache.loaded()).toEqual([]);
    });
  });
});
