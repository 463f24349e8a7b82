/**
 * The review console in headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) against a real `facet serve` app, the real Postgres, an S3-compatible server
 * holding the catalogue's photos, and the demo model: a reviewer edits and approves, a viewer's
 * approve is refused, an operator pauses a run, a photo is described. Each test keeps a
 * screenshot in test-artifacts/console/. The console's refusals (stale CSRF token, no session,
 * a photo that is not there) are checked over plain HTTP at the end.
 */
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { FastifyInstance } from "fastify";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODEL_DIR } from "../cli/commands/describe.js";
import { generateCatalogue } from "../models/catalogue/index.js";
import { createDemoCatalogue } from "../producers/demo/demo-catalogue-schema.js";
import { seedDemoCatalogue } from "../producers/demo/seed-demo-catalogue.js";
import { startRun } from "../producers/run-control.js";
import { buildServer } from "../server/app.js";
import { startDescribeService, type DescribeService } from "../server/describe-service.js";
import { createToken } from "../shared/ledger/api-tokens.js";
import { listAudit } from "../shared/ledger/audit-log.js";
import { decideReview } from "../shared/ledger/review-decisions.js";
import { getRun, snapshotChunk } from "../shared/ledger/run-ledger.js";
import { createLogger } from "../shared/logging/logger.js";
import { openObjectStore, openWritableObjectStore, type ObjectStore } from "../shared/storage/object-store.js";
import { createModelCache, type ModelCache } from "../workers/model-cache.js";
import { createTestDb, type TestDb } from "./helpers/postgres.js";
import { runFacet } from "./helpers/facet-process.js";
import { startS3, type TestS3 } from "./helpers/s3-server.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.resolve("test-artifacts/console");
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`console browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`);

let t: TestDb;
let s3: TestS3;
let tmp: string;
let models: ModelCache;
let source: ObjectStore;
let images: ObjectStore;
let describer: DescribeService;
let app: FastifyInstance;
let base: string;
let browser: Browser;
let photo: Buffer;
let runId: string;
const tokens = { viewer: "", reviewer: "", operator: "" };
const products = ["syn-5-000001", "syn-5-000002", "syn-5-000003"];
const versionOf: Record<string, number> = {};

beforeAll(async () => {
  if (!haveChromium) return;
  [t, s3, tmp] = await Promise.all([createTestDb(), startS3(), mkdtemp(path.join(os.tmpdir(), "facet-console-"))]);
  await Promise.all([s3.createBucket("shop"), createDemoCatalogue(t.db, t.catalogueSchema), mkdir(ARTIFACTS, { recursive: true })]);
  const imageStore = "s3://shop/photos";
  await seedDemoCatalogue({ db: t.db, schema: t.catalogueSchema, imageStore: openWritableObjectStore(imageStore, { ...s3.settings, access: "photos" }), seed: 5, products: 4 });
  images = openObjectStore(imageStore, { ...s3.settings, access: "photos" });
  await mkdir(path.join(tmp, "models"), { recursive: true });
  await cp(DEMO_MODEL_DIR, path.join(tmp, "models/1.0.0"), { recursive: true });
  source = openObjectStore(pathToFileURL(path.join(tmp, "models")).href, { region: "us-east-1", forcePathStyle: true, access: "bundles" });
  const logger = createLogger({ level: (process.env.TEST_LOG_LEVEL ?? "silent") as "silent", role: "serve" });
  models = createModelCache({ source, cacheDir: path.join(tmp, "cache"), settings: { executionProvider: "cpu" }, inferenceThreads: 1, logger });
  describer = await startDescribeService({ models, version: "latest", batchSize: 8, batchMaxWaitMs: 5 });
  app = await buildServer({
    ledger: t.ledger, logger, describer, models: source, images, reviewThreshold: 0.5, applyFunction: t.env.CATALOGUE_APPLY_FUNCTION,
    limits: { maxPhotoBytes: 1024 * 1024, requestTimeoutMs: 30_000, ratePerMinute: 10_000 },
  });
  base = await app.listen({ port: 0, host: "127.0.0.1" });
  for (const role of ["viewer", "reviewer", "operator"] as const) tokens[role] = (await createToken(t.ledger, { name: `console ${role}`, role })).token;
  const run = await startRun(t.ledger, source, { model: "latest", selection: { kind: "all" }, mode: "apply", priority: 100, allowEmpty: false, allowEmptyHint: "", trigger: "api" });
  runId = run.id;
  // What a worker writes for results it would not apply by itself (shared/ledger/write-outcomes.ts).
  for (const [i, productId] of products.entries()) {
    const [row] = await t.db.withSchema(t.schema).table("description_versions").insert({
      run_id: runId, product_id: productId, model_name: "demo", model_version: "1.0.0", input_hash: `h${i}`,
      description: `A generated text for product ${i}.`,
      attributes: JSON.stringify({ category: { label: "ring", confidence: 0.31 + i / 10, stated: false }, metal: { label: "sterling silver", confidence: 0.8, stated: false } }),
      min_confidence: 0.31 + i / 10, status: "needs_review", review_reasons: ["low_confidence"],
    }).returning("id");
    versionOf[productId] = Number(row.id);
  }
  await snapshotChunk(t.ledger, run);
  for await (const { photos } of generateCatalogue({ seed: 4711, count: 1 })) photo = Buffer.from(photos[0] as Uint8Array);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage"],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await describer?.close();
  await models?.close();
  source?.close();
  images?.close();
  await s3?.close();
  await t?.drop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** A fresh browser context (its own cookies) signed in with `token`. */
async function signedIn(token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/console/review`);
  // Not signed in: the console sends the browser to sign in, and back afterwards.
  await page.waitForURL(/\/console\/sign-in/);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/review$/);
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

describe.skipIf(!haveChromium)("the console in a browser", () => {
  it("a reviewer signs in, edits one product's text in the review queue and approves it by keyboard: the catalogue shows the edited text and the audit log has the decision", async () => {
    const page = await signedIn(tokens.reviewer);
    const card = page.locator(`#v-${versionOf[products[0] as string]}`);
    await expect.poll(() => card.locator("img").first().evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await shot(page, "review-queue");
    const edited = "Sterling silver ring with a hand-hammered band, edited by a reviewer.";
    const text = card.getByLabel(/Generated text/);
    await text.fill(edited);
    // A corrected label must be one the model knows: refused with the reason, nothing decided.
    await card.getByLabel(/metal/).fill("gold");
    await text.press("Escape");
    const refused = page.waitForResponse((r) => r.url().endsWith(`/console/review/${versionOf[products[0] as string]}`));
    await page.keyboard.press("a");
    expect((await refused).status()).toBe(400);
    await expect.poll(() => page.locator("#flash").textContent()).toContain("metal must be one of the model's labels");
    await card.getByLabel(/metal/).fill("yellow gold");
    await card.getByLabel(/metal/).press("Escape");
    const answer = page.waitForResponse((r) => r.url().endsWith(`/console/review/${versionOf[products[0] as string]}`));
    await page.keyboard.press("a");
    expect((await answer).status()).toBe(200);
    await expect.poll(() => card.getAttribute("data-decided")).toBe("true");
    expect(await card.textContent()).toContain("Edited and approved by console reviewer");
    // Focus moved on to the next product waiting.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe(`v-${versionOf[products[1] as string]}`);
    await shot(page, "review-decided");

    const product = await t.db.withSchema(t.catalogueSchema).table("products").where({ id: products[0] }).first("description");
    expect(product.description).toBe(edited);
    const decision = await t.db.withSchema(t.schema).table("review_decisions").where({ version_id: versionOf[products[0] as string] }).first();
    expect(decision).toMatchObject({ decision: "edit", text: edited, attributes: { metal: "yellow gold" }, actor_name: "console reviewer" });
    const audit = await listAudit(t.ledger, { subject: products[0] as string });
    expect(audit[0]).toMatchObject({ action: "review.edit", actor: { name: "console reviewer" }, detail: { text: edited, attributes: { metal: "yellow gold" } } });
    await page.context().close();
  });

  it("refuses a viewer's approve with 403, shows why, and changes nothing", async () => {
    const page = await signedIn(tokens.viewer);
    const card = page.locator(`#v-${versionOf[products[1] as string]}`);
    const answer = page.waitForResponse((r) => r.url().endsWith(`/console/review/${versionOf[products[1] as string]}`));
    await card.getByRole("button", { name: "Approve" }).click();
    expect((await answer).status()).toBe(403);
    await expect.poll(() => page.locator("#flash").textContent()).toContain("needs the reviewer role");
    await shot(page, "viewer-refused");
    expect(await card.getAttribute("data-decided")).toBeNull();
    const version = await t.db.withSchema(t.schema).table("description_versions").where({ id: versionOf[products[1] as string] }).first("status");
    expect(version.status).toBe("needs_review");
    await page.context().close();
  });

  it("feeds the reviewer's edit back: facet dataset export --catalogue --reviewed has the edited text as the reference and the corrected label", async () => {
    // A second reviewed product (approved as generated), so the export has labels to contrast.
    await decideReview(t.ledger, t.env.CATALOGUE_APPLY_FUNCTION, { versionId: versionOf[products[1] as string] as number, decision: "approve", actor: { tokenId: "test", name: "test" } });
    const out = path.join(tmp, "reviewed");
    const env = {
      ...process.env, ...t.env, IMAGE_STORE: "s3://shop/photos", S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: "true", AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER",
    };
    const r = await runFacet(["dataset", "export", "--catalogue", "--reviewed", "--out", out, "--image-size", "128"], env);
    expect(r.code, r.stderr).toBe(0);
    const items = (await readFile(path.join(out, "items.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { id: string; reference: string; reference_segments: unknown; attributes: Record<string, string | null> });
    expect(items.map((i) => i.id)).toEqual([products[0], products[1]]);
    expect(items[0]).toMatchObject({ reference: "Sterling silver ring with a hand-hammered band, edited by a reviewer.", reference_segments: null, attributes: { metal: "yellow gold" } });
    expect(items[1]).toMatchObject({ reference: "A generated text for product 1.", attributes: { metal: "sterling silver" } });
    const dataset = JSON.parse(await readFile(path.join(out, "dataset.json"), "utf8"));
    expect(dataset.source).toMatchObject({ kind: "catalogue_reviewed", products: 2, edited: 1, corrected_labels: 1 });
  });

  it("an operator pauses a run from the runs page, and the ledger shows it paused", async () => {
    const page = await signedIn(tokens.operator);
    await page.getByRole("link", { name: "Runs" }).click();
    await page.waitForURL(/\/console\/runs$/);
    await page.getByRole("button", { name: `Pause run ${runId}` }).click();
    await page.waitForURL(/\/console\/runs$/);
    await expect.poll(() => page.getByRole("button", { name: `Resume run ${runId}` }).count()).toBe(1);
    await shot(page, "run-paused");
    expect((await getRun(t.ledger, runId)).state).toBe("paused");
    expect((await listAudit(t.ledger, { subject: runId }))[0]).toMatchObject({ action: "run.pause", actor: { name: "console operator" } });
    await page.context().close();
  });

  it("a user uploads a photo on the describe page and sees its description", async () => {
    const page = await signedIn(tokens.reviewer);
    await page.getByRole("link", { name: "Describe" }).click();
    await page.getByLabel(/^Photos/).setInputFiles({ name: "ring.jpg", mimeType: "image/jpeg", buffer: photo });
    await page.getByRole("button", { name: "Describe" }).click();
    const described = page.locator("#described-text");
    await described.waitFor();
    expect((await described.textContent())?.trim()).toMatch(/\w{3,}/);
    expect(await page.locator(".result table").textContent()).toContain("category");
    await shot(page, "describe");
    await page.context().close();
  });
});

describe.skipIf(!haveChromium)("the console over HTTP", () => {
  /** Cookies and the CSRF token of a signed-in session, the way a browser would hold them. */
  async function session(token: string): Promise<{ cookie: string; csrf: string }> {
    const form = await fetch(`${base}/console/sign-in`);
    const csrfCookie = (form.headers.getSetCookie().find((c) => c.startsWith("facet_csrf=")) ?? "").split(";")[0] as string;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] as string;
    const signIn = await fetch(`${base}/console/sign-in`, {
      method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", cookie: csrfCookie },
      body: new URLSearchParams({ _csrf: csrf, token, next: "/console/runs" }),
    });
    expect(signIn.status).toBe(303);
    const sessionCookie = (signIn.headers.getSetCookie().find((c) => c.startsWith("facet_session=")) ?? "").split(";")[0] as string;
    expect(signIn.headers.getSetCookie().find((c) => c.startsWith("facet_session="))).toMatch(/HttpOnly/i);
    expect(signIn.headers.getSetCookie().find((c) => c.startsWith("facet_session="))).toMatch(/SameSite=Strict/i);
    return { cookie: `${csrfCookie}; ${sessionCookie}`, csrf };
  }

  it("refuses a stale CSRF token with 403 JSON naming _csrf, and decides nothing", async () => {
    const { cookie } = await session(tokens.reviewer);
    const version = versionOf[products[2] as string];
    const r = await fetch(`${base}/console/review/${version}`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", cookie, "hx-request": "true", "x-csrf-token": "stale-token" },
      body: new URLSearchParams({ decision: "approve" }),
    });
    expect(r.status).toBe(403);
    expect((await r.json()).error).toMatchObject({ field: "_csrf", rule: "csrf_token" });
    expect((await t.db.withSchema(t.schema).table("description_versions").where({ id: version }).first("status")).status).toBe("needs_review");
  });

  it("sends a page load without a session to sign in, and answers htmx without one with 401 JSON", async () => {
    const page = await fetch(`${base}/console/review`, { redirect: "manual" });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/console/sign-in?next=%2Fconsole%2Freview");
    const htmx = await fetch(`${base}/console/runs/${runId}/progress`, { headers: { "hx-request": "true" } });
    expect(htmx.status).toBe(401);
    expect((await htmx.json()).error).toMatchObject({ field: "session", rule: "required" });
  });

  it("refuses a wrong token at sign-in with 401 and sets no session", async () => {
    const form = await fetch(`${base}/console/sign-in`);
    const csrfCookie = (form.headers.getSetCookie().find((c) => c.startsWith("facet_csrf=")) ?? "").split(";")[0] as string;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] as string;
    const r = await fetch(`${base}/console/sign-in`, {
      method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", cookie: csrfCookie },
      body: new URLSearchParams({ _csrf: csrf, token: "facet_not-a-token" }),
    });
    expect(r.status).toBe(401);
    expect(await r.text()).toContain("That token does not sign in: unknown API token");
    expect(r.headers.getSetCookie().some((c) => c.startsWith("facet_session="))).toBe(false);
  });

  it("serves photos by product id only, re-encoded, with a CSP; an unknown product or photo is a 404 naming the field", async () => {
    const { cookie } = await session(tokens.viewer);
    const ok = await fetch(`${base}/console/photos/${products[0]}/0`, { headers: { cookie } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toBe("image/webp");
    expect(ok.headers.get("content-security-policy")).toContain("default-src 'self'");
    const unknown = await fetch(`${base}/console/photos/no-such-product/0`, { headers: { cookie, "hx-request": "true" } });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error).toMatchObject({ field: "id", rule: "known_product" });
    const tooFar = await fetch(`${base}/console/photos/${products[0]}/9`, { headers: { cookie, "hx-request": "true" } });
    expect(tooFar.status).toBe(404);
    expect((await tooFar.json()).error).toMatchObject({ field: "n", rule: "known_photo" });
    // A key is never taken from the client: a path in the id is just an unknown product.
    const traversal = await fetch(`${base}/console/photos/${encodeURIComponent("../models/1.0.0/manifest.json")}/0`, { headers: { cookie, "hx-request": "true" } });
    expect(traversal.status).toBe(404);
  });

  it("shows a run's products before and after, filtered to the ones whose category changed", async () => {
    const { cookie } = await session(tokens.viewer);
    const all = await (await fetch(`${base}/console/runs/${runId}`, { headers: { cookie } })).text();
    for (const p of products) expect(all).toContain(`/console/products/${p}`);
    const changed = await (await fetch(`${base}/console/runs/${runId}?filter=changed`, { headers: { cookie } })).text();
    // The generated category is ring for all three; the catalogue says ring only for the first.
    expect(changed).not.toContain(`/console/products/${products[0]}"`);
    expect(changed).toContain(`/console/products/${products[1]}"`);
    expect(changed).toContain("<mark>ring</mark>");
    const bad = await fetch(`${base}/console/runs/${runId}?filter=nope`, { headers: { cookie, "hx-request": "true" } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ field: "filter", rule: "enum" });
  });

  it("rolls one product back from its page: the text the approval replaced is restored, and the audit log has it", async () => {
    const { cookie, csrf } = await session(tokens.reviewer);
    const product = products[2] as string;
    const shop = () => t.db.withSchema(t.catalogueSchema).table("products").where({ id: product });
    const original = (await shop().first("description")).description as string;
    await decideReview(t.ledger, t.env.CATALOGUE_APPLY_FUNCTION, { versionId: versionOf[product] as number, decision: "approve", actor: { tokenId: "test", name: "test" } });
    expect((await shop().first("description")).description).toBe("A generated text for product 2.");
    const history = await (await fetch(`${base}/console/products/${product}`, { headers: { cookie } })).text();
    expect(history).toContain(`Roll back version ${versionOf[product]}`);
    const r = await fetch(`${base}/console/products/${product}/rollback`, {
      method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", cookie }, body: new URLSearchParams({ _csrf: csrf }),
    });
    expect(r.status).toBe(303);
    expect((await shop().first("description")).description).toBe(original);
    expect((await listAudit(t.ledger, { subject: product }))[0]).toMatchObject({ action: "product.rollback", actor: { name: "console reviewer" }, detail: { outcome: "rolled_back" } });
    const again = await fetch(`${base}/console/products/${product}/rollback`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", cookie, "hx-request": "true" }, body: new URLSearchParams({ _csrf: csrf }) });
    expect(again.status).toBe(404);
  });
});
