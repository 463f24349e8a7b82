import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { repoPath } from "../repo-root.js";
import type { ObjectStore } from "../storage/object-store.js";

/** Test fixtures: model stores filled with copies of the demo bundle. */

export const DEMO_BUNDLE_DIR = repoPath("models/demo");

/** Bundle files by name, manifest included. */
export type BundleFiles = Map<string, Uint8Array>;

/** The demo bundle's manifest and every file it lists. */
export async function readDemoBundle(): Promise<BundleFiles> {
  const manifest = await readFile(path.join(DEMO_BUNDLE_DIR, "manifest.json"));
  const listed = Object.keys((JSON.parse(manifest.toString("utf8")) as { files: Record<string, unknown> }).files);
  const files: BundleFiles = new Map([["manifest.json", manifest]]);
  for (const name of listed) files.set(name, await readFile(path.join(DEMO_BUNDLE_DIR, name)));
  return files;
}

/**
 * `files` with the manifest's `version` set to `version` (the manifest lists no hash of
 * itself, so no sha256 needs refreshing), and with one byte of `corrupt` flipped.
 */
export function asVersion(files: BundleFiles, version: string, options: { corrupt?: string } = {}): BundleFiles {
  const out = new Map(files);
  const manifest = JSON.parse(Buffer.from(files.get("manifest.json") as Uint8Array).toString("utf8")) as Record<string, unknown>;
  out.set("manifest.json", Buffer.from(JSON.stringify({ ...manifest, version }, null, 2)));
  if (options.corrupt) {
    const bytes = Buffer.from(files.get(options.corrupt) as Uint8Array);
    bytes[bytes.length >> 1] = ((bytes[bytes.length >> 1] as number) ^ 0xff) & 0xff;
    out.set(options.corrupt, bytes);
  }
  return out;
}

/** Writes one object of a store (S3 PUT, or a file under a folder). */
export type Put = (key: string, bytes: Uint8Array) => Promise<void>;

export function folderPut(root: string): Put {
  return async (key, bytes) => {
    const file = path.join(root, key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
  };
}

/** Publish `files` as version folder `<prefix><version>/`. */
export async function publish(put: Put, prefix: string, version: string, files: BundleFiles): Promise<void> {
  await Promise.all([...files].map(([name, bytes]) => put(`${prefix}${version}/${name}`, bytes)));
}

/** Versions the standard layout holds, in version order; `latest` is 1.1.0 (2.0.0-rc.1 is a pre-release). */
export const LAYOUT_VERSIONS = ["0.9.0", "1.0.0", "1.1.0", "2.0.0-rc.1"];

/**
 * The standard test layout under `prefix`: 1.0.0 and 1.1.0 complete copies of the demo
 * bundle; 0.9.0 and 2.0.0-rc.1 a manifest only (listed, never fetched); `notes/` and
 * `.hidden/` folders that are not versions. Under `corruptPrefix`: 1.0.0 with one byte of
 * encoder.onnx flipped.
 */
export async function seedLayout(put: Put, demo: BundleFiles, prefix: string, corruptPrefix: string): Promise<void> {
  const manifestOnly = (version: string) => new Map([["manifest.json", asVersion(demo, version).get("manifest.json") as Uint8Array]]);
  await publish(put, prefix, "1.0.0", asVersion(demo, "1.0.0"));
  await publish(put, prefix, "1.1.0", asVersion(demo, "1.1.0"));
  await publish(put, prefix, "0.9.0", manifestOnly("0.9.0"));
  await publish(put, prefix, "2.0.0-rc.1", manifestOnly("2.0.0-rc.1"));
  await put(`${prefix}notes/readme.txt`, Buffer.from("not a version"));
  await put(`${prefix}.hidden/manifest.json`, Buffer.from("{}"));
  await publish(put, corruptPrefix, "1.0.0", asVersion(demo, "1.0.0", { corrupt: "encoder.onnx" }));
}

/** `source` with a count of the calls made to it. */
export function countingSource(source: ObjectStore): { source: ObjectStore; calls: { list: number; get: number; stream: number } } {
  const calls = { list: 0, get: 0, stream: 0 };
  return {
    calls,
    source: {
      url: source.url,
      list: (prefix, options) => (calls.list++, source.list(prefix, options)),
      get: (key, options) => (calls.get++, source.get(key, options)),
      stream: (key, options) => (calls.stream++, source.stream(key, options)),
      close: () => source.close(),
    },
  };
}
