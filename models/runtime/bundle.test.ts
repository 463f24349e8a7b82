import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BundleError } from "../../shared/errors/index.js";
import { DEMO_MODEL_DIR } from "../../cli/commands/describe.js";
import { loadBundle } from "./bundle.js";
import { readBundleSpec } from "./bundle-spec.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "facet-bundle-"));
  await cp(DEMO_MODEL_DIR, dir, { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function editManifest(edit: (m: Record<string, any>) => void) {
  const file = path.join(dir, "manifest.json");
  const m = JSON.parse(await readFile(file, "utf8"));
  edit(m);
  await writeFile(file, JSON.stringify(m));
}

async function rehash(name: string) {
  const sha256 = createHash("sha256").update(await readFile(path.join(dir, name))).digest("hex");
  await editManifest((m) => (m.files[name].sha256 = sha256));
}

async function refusal(): Promise<BundleError> {
  const error = await loadBundle(dir).then(
    async (b) => {
      await b.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BundleError);
  const e = error as BundleError;
  expect(e.message.split("\n")).toHaveLength(1);
  return e;
}

describe("loadBundle", () => {
  it("loads the demo bundle and names its model", async () => {
    const bundle = await loadBundle(dir);
    expect(bundle.manifest.format).toBe("facet-bundle/1");
    expect(bundle.tokenizer.size).toBe(bundle.manifest.tokenizer.vocab_size);
    await bundle.close();
  });

  it("refuses a missing file, naming it", async () => {
    await rm(path.join(dir, "decoder.onnx"));
    const e = await refusal();
    expect(e.message).toContain(path.join(dir, "decoder.onnx"));
    expect(e.message).toContain("missing");
  });

  it("refuses a file whose sha256 differs from the manifest", async () => {
    const file = path.join(dir, "tokenizer.json");
    await writeFile(file, (await readFile(file, "utf8")).replace("<unk>", "<UNK>"));
    const e = await refusal();
    expect(e.message).toMatch(/tokenizer\.json: sha256: file hashes to [0-9a-f]{64}, manifest files\.tokenizer\.json\.sha256 says/);
  });

  it("refuses an unknown manifest format", async () => {
    await editManifest((m) => (m.format = "facet-bundle/9"));
    expect((await refusal()).message).toMatch(/manifest\.json: format: unknown bundle format "facet-bundle\/9"/);
  });

  it("refuses a manifest field of the wrong type, naming the field", async () => {
    await editManifest((m) => (m.preprocessing.image_size = "big"));
    expect((await refusal()).message).toMatch(/manifest\.json: preprocessing\.image_size: /);
  });

  it("refuses a tokenizer that does not match the decoder's vocabulary", async () => {
    const file = path.join(dir, "tokenizer.json");
    const t = JSON.parse(await readFile(file, "utf8"));
    t.vocab.push("sparkly");
    await writeFile(file, JSON.stringify(t));
    await rehash("tokenizer.json");
    await editManifest((m) => (m.tokenizer.vocab_size += 1));
    const e = await refusal();
    expect(e.message).toMatch(/decoder\.onnx: outputs\.logits: shape \[.*\], expected \[.*\]/);
  });

  it("refuses graphs with unexpected input names", async () => {
    // The decoder graph where the encoder should be: inputs tokens, past, … instead of images.
    await editManifest((m) => (m.encoder.file = "decoder.onnx"));
    const e = await refusal();
    expect(e.message).toMatch(/decoder\.onnx: inputs: expected images; graph has tokens, past, memory, memory_mask/);
  });

  it("refuses attribute label sets that do not match the graph's heads", async () => {
    await editManifest((m) => m.attributes[0].labels.push("tiara"));
    expect((await refusal()).message).toMatch(/encoder\.onnx: outputs\.probs_category: shape/);
  });
});

describe("readBundleSpec", () => {
  it("reads the manifest and tokenizer with no session open", async () => {
    const spec = await readBundleSpec(dir);
    expect(Object.keys(spec).sort()).toEqual(["dir", "manifest", "tokenizer"]);
    expect(spec.tokenizer.size).toBe(spec.manifest.tokenizer.vocab_size);
  });

  it("refuses a file defect with loadBundle's message, naming the file in the bundle", async () => {
    const file = path.join(dir, "encoder.onnx");
    const bytes = await readFile(file);
    const middle = bytes.length >> 1;
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle);
    await writeFile(file, bytes);
    const e = await readBundleSpec(dir).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(BundleError);
    expect((e as BundleError).message).toBe((await refusal()).message);
    expect((e as BundleError).message.startsWith(`${path.join(dir, "encoder.onnx")}: sha256: file hashes to `)).toBe(true);
  });

  it("skips the hashes only when told they were just checked (an inference thread's load)", async () => {
    await editManifest((m) => (m.files["tokenizer.json"].sha256 = "0".repeat(64)));
    await expect(readBundleSpec(dir)).rejects.toThrow(/tokenizer\.json: sha256: file hashes to/);
    const spec = await readBundleSpec(dir, { hashes: false });
    expect(spec.tokenizer.size).toBe(spec.manifest.tokenizer.vocab_size);
  });
});
