import { runFacet } from "../test/helpers/facet-process.js";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCatalogue } from "../models/catalogue/index.js";


/** Run the real `facet` command. */
const facet = (...args: string[]) => runFacet(args);

let tmp: string;
const files: string[] = [];
const truth: Record<string, string>[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "facet-cli-"));
  for await (const { product, photos } of generateCatalogue({ seed: 4711, count: 3 })) {
    const file = path.join(tmp, `${product.id}.img`);
    await writeFile(file, photos[0] as Uint8Array);
    files.push(file);
    truth.push({ ...product.attributes });
  }
  await writeFile(path.join(tmp, "corrupt.jpg"), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70, 73, 70, 0, 1, 1, 0]));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("facet describe", () => {
  it("prints a description and attributes with confidences for each photo", async () => {
    const { code, stdout } = await facet("describe", ...files);
    expect(code).toBe(0);
    for (const [i, file] of files.entries()) {
      expect(stdout).toContain(path.basename(file));
      expect(stdout).toContain(`category`);
      expect(stdout).toContain(truth[i]?.category as string);
    }
    expect(stdout).toMatch(/model facet-demo /);
    expect(stdout).toMatch(/\d+\.\d%/);
  });

  it("prints JSON with --json", async () => {
    const { code, stdout } = await facet("describe", "--json", "--same-product", ...files.slice(0, 2));
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ ok: true, photosUsed: 2, model: { name: "facet-demo" } });
    expect(out[0].attributes.metal.confidence).toBeGreaterThan(0);
  });

  it("prints the reason for a corrupt file and exits non-zero, still describing the rest", async () => {
    const { code, stdout } = await facet("describe", files[0] as string, path.join(tmp, "corrupt.jpg"));
    expect(code).toBe(1);
    expect(stdout).toMatch(/corrupt\.jpg\n\s+FAILED photo_(corrupt|truncated): photo 1 of product corrupt\.jpg: /);
    expect(stdout).toContain(truth[0]?.category as string);
  });

  it("describes any number of files, a batch at a time, and names a file it cannot read", async () => {
    const many = path.join(tmp, "many");
    await mkdir(many);
    const names = Array.from({ length: 1000 }, (_, i) => path.join(many, `p${String(i).padStart(4, "0")}.img`));
    const bytes = await readFile(files[0] as string);
    await Promise.all(names.map((n) => writeFile(n, bytes)));
    const missing = path.join(many, "gone.jpg");
    const { code, stdout } = await facet("describe", "--json", ...names, missing);
    expect(code).toBe(1);
    const out = JSON.parse(stdout) as Array<{ id: string; ok: boolean; code?: string; message?: string; review?: { decision: string } }>;
    expect(out).toHaveLength(1001);
    expect(out.slice(0, 1000).every((o) => o.ok && o.review !== undefined)).toBe(true);
    expect(out[1000]).toMatchObject({ id: "gone.jpg", ok: false, code: "file_unreadable" });
    expect(out[1000]?.message).toContain(`cannot read ${missing} (ENOENT)`);
  }, 120_000);

  it("prints each result's review decision, and sends one that contradicts the seller's text to review", async () => {
    const { code, stdout } = await facet("describe", files[0] as string);
    expect(code).toBe(0);
    expect(stdout).toMatch(/decision\s+(apply|needs_review \(.+\))/);
    const metal = truth[0]?.metal as string;
    const other = metal === "copper" ? "solid 18k gold" : "pure copper";
    const contradicted = await facet("describe", "--json", "--seller-text", `Handmade ${other} piece`, files[0] as string);
    const [result] = JSON.parse(contradicted.stdout);
    if (result.attributes.metal.stated) {
      expect(result.review.reasons).toContain("contradicts_seller");
      expect(result.review.contradictions[0]).toMatchObject({ attribute: "metal", predicted: result.attributes.metal.label });
    }
  });

  it("exits 2 with one line naming a bad flag", async () => {
    const { code, stderr } = await facet("describe", "--bogus", files[0] as string);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("--bogus");
  });

  it("exits 2 with one line naming a broken model bundle", async () => {
    const { code, stderr } = await facet("describe", "--model", tmp, files[0] as string);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(`${path.join(tmp, "manifest.json")}: missing`);
  });
});
