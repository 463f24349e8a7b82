import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCatalogue } from "../../models/catalogue/index.js";
import { loadBundle } from "../../models/runtime/bundle.js";
import { createDescriber, type ProductDescription } from "../../models/runtime/describer.js";
import { BundleError, ConfigError, PermanentError, TransientError } from "../errors/index.js";
import { FolderStore } from "../storage/folder-store.js";
import { openObjectStore, type ObjectStore } from "../storage/object-store.js";
import { S3Store } from "../storage/s3-store.js";
import { startS3, type TestS3 } from "../../test/helpers/s3-server.js";
import { folderPut, LAYOUT_VERSIONS, readDemoBundle, seedLayout } from "./demo-store-fixture.js";
import { fetchBundle, listModelVersions, resolveVersion } from "./model-store.js";

let s3: TestS3;
let temp: string;
let photo: Uint8Array;
const stores: Record<"S3" | "folder", { source: ObjectStore; corrupt: ObjectStore }> = {} as never;

beforeAll(async () => {
  temp = await mkdtemp(path.join(os.tmpdir(), "facet-model-store-"));
  const demo = await readDemoBundle();

  s3 = await startS3();
  const bucket = `models-${randomUUID().slice(0, 8)}`;
  await s3.createBucket(bucket);
  await seedLayout((key, bytes) => s3.put(bucket, key, bytes), demo, "models/", "corrupt/models/");
  stores.S3 = {
    source: new S3Store(`s3://${bucket}/models/`, s3.client),
    corrupt: new S3Store(`s3://${bucket}/corrupt/models`, s3.client),
  };

  const root = path.join(temp, "store");
  await seedLayout(folderPut(root), demo, "models/", "corrupt/");
  stores.folder = {
    source: new FolderStore(pathToFileURL(path.join(root, "models")).href),
    corrupt: new FolderStore(pathToFileURL(path.join(root, "corrupt")).href),
  };

  for await (const { photos } of generateCatalogue({ seed: 5, count: 1 })) photo = photos[0] as Uint8Array;
});
afterAll(async () => {
  await s3?.close();
  await rm(temp, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e as Error,
  );
}

const cacheDir = () => mkdtemp(path.join(temp, "cache-"));

describe.each(["S3", "folder"] as const)("%s model store", (kind) => {
  const store = () => stores[kind];

  it("lists the folders holding a manifest as versions, in version order", async () => {
    expect(await listModelVersions(store().source)).toEqual(LAYOUT_VERSIONS);
  });

  it("resolves latest to the highest release version, and a version it has to itself", async () => {
    expect(await resolveVersion(store().source, "latest")).toBe("1.1.0");
    expect(await resolveVersion(store().source, "2.0.0-rc.1")).toBe("2.0.0-rc.1");
  });

  it("refuses an unknown version with one line naming it and listing the available ones", async () => {
    for (const e of [await failure(resolveVersion(store().source, "9.9.9")), await failure(fetchBundle(store().source, "9.9.9", await cacheDir()))]) {
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).not.toContain("\n");
      expect(e.message).toContain('"9.9.9"');
      expect(e.message).toContain(store().source.url);
      expect(e.message).toContain(`(available: ${LAYOUT_VERSIONS.join(", ")})`);
    }
    expect(await failure(resolveVersion(store().source, "../models"))).toBeInstanceOf(ConfigError);
  });

  it("fetches a bundle that loads, warms up and describes a photo; a second fetch reuses the local copy", async () => {
    const dir = await cacheDir();
    const local = await fetchBundle(store().source, "1.1.0", dir);
    expect(local).toMatchObject({ version: "1.1.0", dir: path.join(dir, "1.1.0"), downloaded: true });
    expect(local.bytes).toBeGreaterThan(8_000_000);
    expect(await readdir(dir)).toEqual(["1.1.0"]);

    const bundle = await loadBundle(local.dir);
    try {
      const [outcome] = await createDescriber(bundle).describe([{ id: "p1", photos: [photo] }]);
      expect(outcome?.ok).toBe(true);
      expect((outcome as ProductDescription).model.version).toBe("1.1.0");
      expect((outcome as ProductDescription).description).toMatch(/^[A-Z].*\.$/);
    } finally {
      await bundle.close();
    }

    expect(await fetchBundle(store().source, "1.1.0", dir)).toMatchObject({ downloaded: false, bytes: 0, dir: local.dir });
  });

  it("refuses a file whose sha256 does not match the manifest, leaving nothing in the cache", async () => {
    const dir = await cacheDir();
    const e = await failure(fetchBundle(store().corrupt, "1.0.0", dir));
    expect(e).toBeInstanceOf(BundleError);
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.message).toContain(`${store().corrupt.url}/1.0.0/encoder.onnx: sha256: downloaded file hashes to`);
    expect(await readdir(dir)).toEqual([]);
  });

  it("lets two workers fetch one version at once: one complete copy, no partial folder left", async () => {
    const dir = await cacheDir();
    const results = await Promise.all([fetchBundle(store().source, "1.0.0", dir), fetchBundle(store().source, "1.0.0", dir)]);
    expect(results.map((r) => r.dir)).toEqual([path.join(dir, "1.0.0"), path.join(dir, "1.0.0")]);
    expect(await readdir(dir)).toEqual(["1.0.0"]);
    expect((await readdir(path.join(dir, "1.0.0"))).sort()).toEqual(
      ["decoder.onnx", "encoder.onnx", "manifest.json", "pytorch_model.pt", "tokenizer.json"],
    );
  });
});

describe("model store errors and leftovers", () => {
  it("reports an unreachable store as transient", async () => {
    const source = openObjectStore("s3://models/x", { ...s3.settings, endpoint: "http://127.0.0.1:9", access: "bundles" });
    try {
      expect(await failure(listModelVersions(source))).toBeInstanceOf(TransientError);
      expect(await failure(fetchBundle(source, "1.0.0", await cacheDir()))).toBeInstanceOf(TransientError);
    } finally {
      source.close();
    }
  });

  it("reports a cache folder that cannot be written as permanent", async () => {
    const file = path.join(await cacheDir(), "not-a-folder");
    await writeFile(file, "");
    const e = await failure(fetchBundle(stores.S3.source, "1.0.0", file));
    expect(e).toBeInstanceOf(PermanentError);
    expect((e as PermanentError).code).toBe("model_cache_unwritable");
  });

  it("removes stale partial downloads of a crashed worker, and keeps fresh ones", async () => {
    const dir = await cacheDir();
    const stale = path.join(dir, "1.0.0.partial-AbC123");
    const fresh = path.join(dir, "1.0.0.partial-XyZ789");
    for (const d of [stale, fresh]) {
      await mkdir(d);
      await writeFile(path.join(d, "encoder.onnx"), "half");
    }
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(path.join(stale, "encoder.onnx"), old, old);
    await utimes(stale, old, old);
    await fetchBundle(stores.S3.source, "1.0.0", dir);
    expect((await readdir(dir)).sort()).toEqual(["1.0.0", "1.0.0.partial-XyZ789"]);
  });
});
