/**
 * `facet serve`'s API against a real listening server, the real Postgres and the demo model
 * (through the worker's model cache and an inference thread): a description of an uploaded
 * photo, and a 4xx JSON error naming the field and the rule for every bad input, with nothing
 * written and the server still serving.
 */
import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { FastifyInstance } from "fastify";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_MODEL_DIR } from "../cli/commands/describe.js";
import { generateCatalogue } from "../models/catalogue/index.js";
import { createToken, revokeToken } from "../shared/ledger/api-tokens.js";
import { listAudit } from "../shared/ledger/audit-log.js";
import { getRun } from "../shared/ledger/run-ledger.js";
import { createLogger } from "../shared/logging/logger.js";
import { openObjectStore, openWritableObjectStore, type ObjectStore } from "../shared/storage/object-store.js";
import { createModelCache, type ModelCache } from "../workers/model-cache.js";
import { createDemoCatalogue } from "../producers/demo/demo-catalogue-schema.js";
import { seedDemoCatalogue } from "../producers/demo/seed-demo-catalogue.js";
import { createTestDb, type TestDb } from "../test/helpers/postgres.js";
import { runFacet, spawnFacet } from "../test/helpers/facet-process.js";
import { buildServer } from "./app.js";
import { startDescribeService, type DescribeService } from "./describe-service.js";

const MAX_PHOTO_BYTES = 256 * 1024;

let t: TestDb;
let tmp: string;
let models: ModelCache;
let source: ObjectStore;
let describer: DescribeService;
let app: FastifyInstance;
let base: string;
const tokens: Record<"viewer" | "reviewer" | "operator" | "revoked", string> = { viewer: "", reviewer: "", operator: "", revoked: "" };
let photo: Buffer;
let imagesUrl: string;

beforeAll(async () => {
  [t, tmp] = await Promise.all([createTestDb(), mkdtemp(path.join(os.tmpdir(), "facet-serve-"))]);
  await createDemoCatalogue(t.db, t.catalogueSchema);
  imagesUrl = pathToFileURL(path.join(tmp, "images")).href;
  const images = imagesUrl;
  await seedDemoCatalogue({ db: t.db, schema: t.catalogueSchema, imageStore: openWritableObjectStore(images, { region: "us-east-1", forcePathStyle: true, access: "photos" }), seed: 5, products: 6 });
  await mkdir(path.join(tmp, "models"), { recursive: true });
  await cp(DEMO_MODEL_DIR, path.join(tmp, "models/1.0.0"), { recursive: true });
  source = openObjectStore(pathToFileURL(path.join(tmp, "models")).href, { region: "us-east-1", forcePathStyle: true, access: "bundles" });
  const logger = createLogger({ level: (process.env.TEST_LOG_LEVEL ?? "silent") as "silent", role: "serve" });
  models = createModelCache({ source, cacheDir: path.join(tmp, "cache"), settings: { executionProvider: "cpu" }, inferenceThreads: 1, logger });
  describer = await startDescribeService({ models, version: "latest", batchSize: 8, batchMaxWaitMs: 5 });
  app = await buildServer({ ledger: t.ledger, logger, describer, models: source, images: openObjectStore(imagesUrl, { region: "us-east-1", forcePathStyle: true, access: "photos" }), reviewThreshold: 0.5, applyFunction: t.env.CATALOGUE_APPLY_FUNCTION, limits: { maxPhotoBytes: MAX_PHOTO_BYTES, requestTimeoutMs: 30_000, ratePerMinute: 10_000 } });
  base = await app.listen({ port: 0, host: "127.0.0.1" });
  for (const role of ["viewer", "reviewer", "operator"] as const) tokens[role] = (await createToken(t.ledger, { name: `test ${role}`, role })).token;
  const revoked = await createToken(t.ledger, { name: "test revoked", role: "operator" });
  await revokeToken(t.ledger, revoked.record.id);
  tokens.revoked = revoked.token;
  for await (const { photos } of generateCatalogue({ seed: 4711, count: 1 })) photo = Buffer.from(photos[0] as Uint8Array);
}, 120_000);

afterAll(async () => {
  await app?.close();
  await describer?.close();
  await models?.close();
  source?.close();
  await t?.drop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function upload(files: Array<{ bytes: Uint8Array; name?: string; type?: string; field?: string }>, extra: Record<string, string> = {}): FormData {
  const form = new FormData();
  for (const f of files) form.append(f.field ?? "photos", new Blob([f.bytes as Uint8Array<ArrayBuffer>], { type: f.type ?? "image/jpeg" }), f.name ?? "photo.jpg");
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  return form;
}

async function call(method: string, route: string, options: { token?: string; body?: FormData | string; contentType?: string } = {}) {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.contentType) headers["content-type"] = options.contentType;
  const response = await fetch(`${base}${route}`, { method, headers, ...(options.body !== undefined ? { body: options.body } : {}) });
  const text = await response.text();
  return { status: response.status, body: text === "" ? undefined : (JSON.parse(text) as Record<string, any>) };
}

describe("POST /v1/describe", () => {
  it("describes an uploaded photo: description, attributes with confidences, the review decision and the model version", async () => {
    const r = await call("POST", "/v1/describe", { token: tokens.reviewer, body: upload([{ bytes: photo }]) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body?.description).toMatch(/\w{3,}/);
    expect(r.body?.model).toEqual({ name: expect.any(String), version: "1.0.0" });
    expect(r.body?.review.decision).toMatch(/^(apply|needs_review)$/);
    const category = r.body?.attributes.category;
    expect(category.label).toEqual(expect.any(String));
    expect(category.confidence).toBeGreaterThan(0);
    expect(category.confidence).toBeLessThanOrEqual(1);
    expect(r.body?.photos_used).toBe(1);
  });

  it("describes concurrent uploads, each its own product, in shared batches", async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, () => call("POST", "/v1/describe", { token: tokens.reviewer, body: upload([{ bytes: photo }, { bytes: photo }]) })));
    for (const a of answers) expect(a.status).toBe(200);
    // The same photos give the same description, whichever batch they shared.
    expect(new Set(answers.map((a) => a.body?.description)).size).toBe(1);
    expect(answers[0]?.body?.photos_used).toBe(2);
  });

  it("sends a result that contradicts the artisan's text to review", async () => {
    const plain = await call("POST", "/v1/describe", { token: tokens.reviewer, body: upload([{ bytes: photo }]) });
    const label = plain.body?.attributes.category.label as string;
    const other = label === "ring" ? "necklace" : "ring";
    const r = await call("POST", "/v1/describe", { token: tokens.reviewer, body: upload([{ bytes: photo }], { text: `A handmade ${other}.` }) });
    expect(r.status).toBe(200);
    expect(plain.body?.attributes.category.stated, "the demo photo's category is stated").toBe(true);
    expect(r.body?.review.decision).toBe("needs_review");
    expect(r.body?.review.reasons).toContain("contradicts_seller");
    expect(r.body?.review.contradictions).toEqual([expect.objectContaining({ attribute: "category", predicted: label })]);
  });

  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>');
  const bomb = async () => {
    // A real PNG header claiming 40,000 × 40,000 pixels (1.6 gigapixels), with hardly any data.
    const small = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#fff" } }).png().toBuffer();
    const header = Buffer.from(small);
    header.writeUInt32BE(40_000, 16);
    header.writeUInt32BE(40_000, 20);
    return header;
  };
  it.each([
    { what: "a text file", files: async () => [{ bytes: Buffer.from("just some text, not a photo"), type: "text/plain" }], status: 415, field: "photos[0]", rule: "type" },
    { what: "an SVG", files: async () => [{ bytes: svg, type: "image/svg+xml", name: "x.svg" }], status: 415, field: "photos[0]", rule: "type" },
    { what: "a second photo that is HTML", files: async () => [{ bytes: photo }, { bytes: Buffer.from("<html><body>hi</body></html>"), type: "text/html" }], status: 415, field: "photos[1]", rule: "type" },
    { what: "a pixel bomb", files: async () => [{ bytes: await bomb(), type: "image/png" }], status: 413, field: "photos[0]", rule: "pixels" },
    { what: "a truncated JPEG", files: async () => [{ bytes: photo.subarray(0, Math.floor(photo.length / 2)) }], status: 422, field: "photos[0]", rule: "complete" },
    { what: "an empty file", files: async () => [{ bytes: Buffer.alloc(0) }], status: 422, field: "photos[0]", rule: "not_empty" },
    { what: "a file over the byte limit", files: async () => [{ bytes: Buffer.concat([photo, Buffer.alloc(MAX_PHOTO_BYTES)]) }], status: 413, field: "photos", rule: "max_bytes" },
    { what: "four photos", files: async () => [photo, photo, photo, photo].map((bytes) => ({ bytes })), status: 413, field: "photos", rule: "max_count" },
    { what: "no photo", files: async () => [], status: 400, field: "photos", rule: "required" },
    { what: "a photo in another field", files: async () => [{ bytes: photo, field: "image" }], status: 400, field: "image", rule: "unknown_field" },
  ])("refuses $what with $status, naming $field and the rule $rule", async ({ files, status, field, rule }) => {
    const r = await call("POST", "/v1/describe", { token: tokens.reviewer, body: upload(await files()) });
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.body?.error).toMatchObject({ status, field, rule, message: expect.any(String) });
  });

  it("refuses a body that is not multipart with 415", async () => {
    const r = await call("POST", "/v1/describe", { token: tokens.reviewer, body: JSON.stringify({ photos: [] }), contentType: "application/json" });
    expect(r.status).toBe(415);
    expect(r.body?.error).toMatchObject({ field: "content-type" });
  });

  it("keeps serving after every bad request", async () => {
    const r = await call("POST", "/v1/describe", { token: tokens.reviewer, body: upload([{ bytes: photo }]) });
    expect(r.status).toBe(200);
  });
});

describe("tokens and roles", () => {
  it.each([
    { what: "no token", token: undefined, status: 401, rule: "required" },
    { what: "an unknown token", token: "facet_not-a-real-token", status: 401, rule: "known_token" },
    { what: "a revoked token", token: "revoked", status: 401, rule: "not_revoked" },
    { what: "a viewer's token", token: "viewer", status: 403, rule: "role" },
  ] as const)("refuses $what on describe with $status ($rule), before reading the upload", async ({ token, status, rule }) => {
    const value = token === "revoked" || token === "viewer" ? tokens[token] : token;
    const r = await call("POST", "/v1/describe", { ...(value !== undefined ? { token: value } : {}), body: upload([{ bytes: photo }]) });
    expect(r.status).toBe(status);
    expect(r.body?.error).toMatchObject({ field: "authorization", rule });
  });

  it("creates a token with `facet token create --json`, printed once and stored hashed", async () => {
    const env = { ...process.env, ...t.env };
    const created = await runFacet(["token", "create", "--role", "viewer", "--name", "cli test", "--json"], env);
    expect(created.code, created.stderr).toBe(0);
    const { token, id } = JSON.parse(created.stdout) as { token: string; id: string };
    expect(token).toMatch(/^facet_[A-Za-z0-9_-]{43}$/);
    const stored = await t.db.withSchema(t.schema).table("api_tokens").where({ id }).first();
    expect(JSON.stringify(stored)).not.toContain(token);
    expect((await call("GET", "/v1/runs", { token })).status).toBe(200);
    const bad = await runFacet(["token", "create", "--role", "admin", "--name", "x"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe("facet token create: --role must be one of viewer, reviewer, operator, got 'admin'");
  }, 60_000);
});

describe("/v1/runs", () => {
  it("starts, pauses, resumes and cancels a run as an operator, each command in the audit log", async () => {
    const started = await call("POST", "/v1/runs", { token: tokens.operator, body: JSON.stringify({ model: "latest", selection: { kind: "all" } }), contentType: "application/json" });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const id = started.body?.id as string;
    expect(started.body).toMatchObject({ model_version: "1.0.0", mode: "shadow" });
    for (const action of ["pause", "resume", "cancel"]) {
      const r = await call("POST", `/v1/runs/${id}/${action}`, { token: tokens.operator });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    expect((await getRun(t.ledger, id)).state).toBe("cancelled");
    const audit = await listAudit(t.ledger, { subject: id });
    expect(audit.map((a) => [a.action, a.actor.name])).toEqual([
      ["run.cancel", "test operator"],
      ["run.resume", "test operator"],
      ["run.pause", "test operator"],
      ["run.start", "test operator"],
    ]);
    const status = await call("GET", `/v1/runs/${id}`, { token: tokens.viewer });
    expect(status.body).toMatchObject({ id, state: "cancelled", counts: expect.objectContaining({ total: expect.any(Number) }) });
  });

  it.each([
    { what: "malformed JSON", body: "{model:", status: 400, field: "body", rule: "json" },
    { what: "no model", body: JSON.stringify({ selection: { kind: "all" } }), status: 400, field: "body.model", rule: "required" },
    { what: "an unknown field", body: JSON.stringify({ model: "latest", selection: { kind: "all" }, colour: "red" }), status: 400, field: "body.colour", rule: "unknown_field" },
    { what: "a bad mode", body: JSON.stringify({ model: "latest", selection: { kind: "all" }, mode: "live" }), status: 400, field: "body.mode", rule: "schema" },
    { what: "a category with no name", body: JSON.stringify({ model: "latest", selection: { kind: "category" } }), status: 400, field: "body.selection.category", rule: "schema" },
  ])("refuses $what with $status naming $field, and starts nothing", async ({ body, status, field, rule }) => {
    const before = await t.db.withSchema(t.schema).table("runs").count({ n: "*" }).first();
    const r = await call("POST", "/v1/runs", { token: tokens.operator, body, contentType: "application/json" });
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.body?.error).toMatchObject({ field, rule });
    const after = await t.db.withSchema(t.schema).table("runs").count({ n: "*" }).first();
    expect(after?.n).toBe(before?.n);
  });

  it("answers an unknown run with 404, a viewer's start with 403, and a selection matching nothing with 400", async () => {
    expect((await call("GET", "/v1/runs/run_nope", { token: tokens.viewer })).body?.error).toMatchObject({ status: 404, code: "not_found" });
    expect((await call("POST", "/v1/runs/run_nope/pause", { token: tokens.operator })).status).toBe(404);
    const viewer = await call("POST", "/v1/runs", { token: tokens.viewer, body: JSON.stringify({ model: "latest", selection: { kind: "all" } }), contentType: "application/json" });
    expect(viewer.status).toBe(403);
    const empty = await call("POST", "/v1/runs", { token: tokens.operator, body: JSON.stringify({ model: "latest", selection: { kind: "category", category: "spaceship" } }), contentType: "application/json" });
    expect(empty.status).toBe(400);
    expect(empty.body?.error.message).toMatch(/matches no product; "allow_empty": true starts the run anyway/);
  });

  it("streams a run's progress as server-sent events until it ends", async () => {
    const started = await call("POST", "/v1/runs", { token: tokens.operator, body: JSON.stringify({ model: "latest", selection: { kind: "all" } }), contentType: "application/json" });
    const id = started.body?.id as string;
    const response = await fetch(`${base}/v1/runs/${id}/events`, { headers: { authorization: `Bearer ${tokens.viewer}` } });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: progress\ndata: \{.*"id":"run_/);
    await call("POST", `/v1/runs/${id}/cancel`, { token: tokens.operator });
    let all = first;
    while (!all.includes("event: end")) {
      const chunk = await reader.read();
      if (chunk.done) break;
      all += new TextDecoder().decode(chunk.value);
    }
    expect(all).toMatch(/event: end\ndata: \{.*"state":"cancelled"/);
  });
});

describe("/openapi.json", () => {
  it("describes every route, publicly", async () => {
    const r = await call("GET", "/openapi.json");
    expect(r.status).toBe(200);
    expect(r.body?.openapi).toMatch(/^3\./);
    expect(Object.keys(r.body?.paths ?? {})).toEqual(expect.arrayContaining(["/v1/describe", "/v1/runs", "/v1/runs/{id}", "/v1/runs/{id}/events", "/v1/runs/{id}/pause"]));
  });

  it("answers an unknown route with a 404 JSON error", async () => {
    expect((await call("GET", "/v1/nothing", { token: tokens.viewer })).body?.error).toMatchObject({ status: 404, field: "path" });
  });
});

describe("facet serve", () => {
  it("starts as its own process, serves the API, and stops on SIGTERM with status 0", async () => {
    const env = { ...t.env, MODEL_STORE: pathToFileURL(path.join(tmp, "models")).href, MODEL_CACHE_DIR: path.join(tmp, "cache-process"), METRICS_PORT: "0", INFERENCE_THREADS: "1", LOG_LEVEL: "info" };
    const server = spawnFacet(["serve", "--port", "0"], env);
    try {
      let address: string | undefined;
      while (address === undefined) {
        const line = server.output().split("\n").find((l) => l.includes('"msg":"serving"'));
        if (line) address = (JSON.parse(line) as { address: string }).address;
        else if (server.proc.exitCode !== null) throw new Error(`facet serve exited ${server.proc.exitCode}: ${server.output()}`);
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const spec = await fetch(`${address}/openapi.json`);
      expect(spec.status).toBe(200);
      const described = await fetch(`${address}/v1/describe`, { method: "POST", headers: { authorization: `Bearer ${tokens.reviewer}` }, body: upload([{ bytes: photo }]) });
      expect(described.status).toBe(200);
    } finally {
      server.proc.kill("SIGTERM");
    }
    expect(await server.exited).toBe(0);
    expect(server.output().split("\n").filter((l) => l.trim() !== "" && !l.startsWith("{"))).toEqual([]);
  }, 60_000);

  it("refuses a bad --port with exit 2 and one line naming it", async () => {
    const r = await runFacet(["serve", "--port", "eighty"], { ...process.env, ...t.env });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("facet serve: --port must be an integer from 0 to 65535, got 'eighty'");
  }, 30_000);
});

describe("/v1/review", () => {
  let runId: string;
  const products = ["syn-5-000001", "syn-5-000002", "syn-5-000003", "syn-5-000004", "syn-5-000005"];
  const versionOf: Record<string, number> = {};
  const shop = () => t.db.withSchema(t.catalogueSchema).table("products");

  beforeAll(async () => {
    const run = await call("POST", "/v1/runs", { token: tokens.operator, body: JSON.stringify({ model: "latest", selection: { kind: "all" }, mode: "apply" }), contentType: "application/json" });
    runId = run.body?.id as string;
    // What a worker writes for results it would not apply by itself (shared/ledger/write-outcomes.ts).
    for (const [i, productId] of products.entries()) {
      const [row] = await t.db.withSchema(t.schema).table("description_versions").insert({
        run_id: runId, product_id: productId, model_name: "demo", model_version: "1.0.0", input_hash: `h${i}`,
        description: `Generated text ${i}.`, attributes: JSON.stringify({ category: { label: "ring", confidence: 0.4 + i / 100, stated: false } }),
        min_confidence: 0.4 + i / 100, status: "needs_review", review_reasons: ["low_confidence"],
      }).returning("id");
      versionOf[productId] = Number(row.id);
    }
  });

  const decide = (productId: string, body: unknown, token = tokens.reviewer) => call("POST", `/v1/review/${versionOf[productId]}`, { token, body: JSON.stringify(body), contentType: "application/json" });

  it("lists the run's versions in review with the artisan's text, lowest confidence filter included", async () => {
    const all = await call("GET", `/v1/review?run=${runId}`, { token: tokens.viewer });
    expect(all.status).toBe(200);
    expect(all.body?.items.map((i: { product_id: string }) => i.product_id)).toEqual(products);
    const artisan = await shop().where({ id: products[0] }).first("description");
    expect(all.body?.items[0]).toMatchObject({ reasons: ["low_confidence"], artisan_text: artisan.description, description: "Generated text 0." });
    const low = await call("GET", `/v1/review?run=${runId}&max_confidence=0.415`, { token: tokens.viewer });
    expect(low.body?.items).toHaveLength(2);
    expect((await call("GET", "/v1/review?max_confidence=2", { token: tokens.viewer })).body?.error).toMatchObject({ status: 400, field: "querystring.max_confidence" });
  });

  it("edits and approves one product: the catalogue shows the edited text, and the decision is recorded with who and when", async () => {
    const r = await decide(products[0] as string, { decision: "edit", text: "Anillo de plata hecho a mano.", attributes: { category: "ring", metal: "silver" } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ status: "applied", text: "Anillo de plata hecho a mano." });
    expect((await shop().where({ id: products[0] }).first("description")).description).toBe("Anillo de plata hecho a mano.");
    const decision = await t.db.withSchema(t.schema).table("review_decisions").where({ version_id: versionOf[products[0] as string] }).first();
    expect(decision).toMatchObject({ decision: "edit", text: "Anillo de plata hecho a mano.", attributes: { category: "ring", metal: "silver" }, actor_name: "test reviewer" });
    const audit = await listAudit(t.ledger, { subject: products[0] as string });
    expect(audit[0]).toMatchObject({ action: "review.edit", actor: { name: "test reviewer" } });
    const history = await call("GET", `/v1/products/${products[0]}/versions`, { token: tokens.viewer });
    expect(history.body?.versions[0]).toMatchObject({ status: "applied", current: true, decision: { kind: "edit", by: "test reviewer" } });
  });

  it("refuses a viewer's approve with 403 and changes nothing", async () => {
    const before = await shop().where({ id: products[1] }).first("description");
    const r = await decide(products[1] as string, { decision: "approve" }, tokens.viewer);
    expect(r.status).toBe(403);
    expect(await shop().where({ id: products[1] }).first("description")).toEqual(before);
  });

  it("refuses with 409 and the new text to approve a product whose artisan changed its text after generation", async () => {
    await shop().where({ id: products[1] }).update({ description: "Lo he reescrito yo.", description_edited_at: t.db.fn.now() });
    const r = await decide(products[1] as string, { decision: "approve" });
    expect(r.status).toBe(409);
    expect(r.body?.error).toMatchObject({ code: "text_changed", detail: { product_id: products[1], current_text: "Lo he reescrito yo." } });
    expect((await shop().where({ id: products[1] }).first("description")).description).toBe("Lo he reescrito yo.");
    expect((await t.db.withSchema(t.schema).table("description_versions").where({ id: versionOf[products[1] as string] }).first("status")).status).toBe("needs_review");
  });

  it("rejects one (nothing applied), refuses deciding it twice, and bulk-approves the rest of the run", async () => {
    const before = await shop().where({ id: products[2] }).first("description");
    expect((await decide(products[2] as string, { decision: "reject" })).body).toMatchObject({ status: "rejected" });
    expect(await shop().where({ id: products[2] }).first("description")).toEqual(before);
    expect((await decide(products[2] as string, { decision: "approve" })).body?.error).toMatchObject({ status: 409, code: "conflict" });
    const none = await call("POST", "/v1/review/approve", { token: tokens.reviewer, body: "{}", contentType: "application/json" });
    expect(none.body?.error).toMatchObject({ status: 400, rule: "filter_required" });
    const bulk = await call("POST", "/v1/review/approve", { token: tokens.reviewer, body: JSON.stringify({ run: runId }), contentType: "application/json" });
    expect(bulk.status).toBe(200);
    // products[1] was changed by its artisan: refused; 3 and 4 applied as generated.
    expect(bulk.body).toMatchObject({ approved: 2, refused: [{ product_id: products[1] }] });
    expect((await shop().where({ id: products[4] }).first("description")).description).toBe("Generated text 4.");
  });

  it.each([
    { what: "an edit without text", body: { decision: "edit" }, status: 400, field: "body.text" },
    { what: "text with an approve", body: { decision: "approve", text: "x" }, status: 400, field: "body.text" },
    { what: "an unknown decision", body: { decision: "maybe" }, status: 400, field: "body.decision" },
  ])("refuses $what with $status naming $field", async ({ body, status, field }) => {
    const r = await decide(products[1] as string, body);
    expect(r.status).toBe(status);
    expect(r.body?.error).toMatchObject({ field });
  });

  it("answers an unknown version with 404 and a version id that is not a number with 400", async () => {
    expect((await call("POST", "/v1/review/999999999", { token: tokens.reviewer, body: '{"decision":"approve"}', contentType: "application/json" })).status).toBe(404);
    expect((await call("POST", "/v1/review/abc", { token: tokens.reviewer, body: '{"decision":"approve"}', contentType: "application/json" })).body?.error).toMatchObject({ status: 400, field: "params.versionId" });
    expect((await call("GET", "/v1/products/nope/versions", { token: tokens.viewer })).status).toBe(404);
  });

  it("rolls one product back (reviewer): the text the bulk approve replaced is back, audited; a viewer is refused and an unknown product is 404", async () => {
    const product = products[4] as string;
    expect((await call("POST", `/v1/products/${product}/rollback`, { token: tokens.viewer })).status).toBe(403);
    const r = await call("POST", `/v1/products/${product}/rollback`, { token: tokens.reviewer });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ product_id: product, version_id: versionOf[product], outcome: "rolled_back" });
    expect((await shop().where({ id: product }).first("description")).description).not.toBe("Generated text 4.");
    expect((await listAudit(t.ledger, { subject: product }))[0]).toMatchObject({ action: "product.rollback", actor: { name: "test reviewer" } });
    const again = await call("POST", `/v1/products/${product}/rollback`, { token: tokens.reviewer });
    expect(again.body?.error).toMatchObject({ status: 404, code: "not_found" });
  });
});
