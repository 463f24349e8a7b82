import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import csrf from "@fastify/csrf-protection";
import formbody from "@fastify/formbody";
import { ACCEPTED_FORMATS } from "../../models/runtime/preprocess.js";
import { NotFoundError } from "../../shared/errors/index.js";
import { recordAudit } from "../../shared/ledger/audit-log.js";
import { closeSession, openSession } from "../../shared/ledger/console-sessions.js";
import { productHistory } from "../../shared/ledger/product-history.js";
import { approveMatching, decideReview, listReviewQueue } from "../../shared/ledger/review-decisions.js";
import { rollbackOneProduct } from "../../shared/ledger/rollback-chunk.js";
import { getRun, listRuns } from "../../shared/ledger/run-ledger.js";
import { productPhotoKeys, runItemsPage } from "../../shared/ledger/run-items-page.js";
import { itemsByStateAndReason } from "../../shared/ledger/run-summary.js";
import type { Run, RunCounts } from "../../shared/ledger/run.js";
import { controlRun, startRun, type RunAction } from "../../producers/run-control.js";
import { ApiError } from "../api-error.js";
import type { ServerDeps } from "../app.js";
import { authenticate, callerOf } from "../auth.js";
import { MAX_TEXT } from "../limits.js";
import { readUpload } from "../routes/describe.js";
import { ErrorPage, DescribePage, DescribeResult, ProductPage, SignInPage } from "./other-pages.js";
import { fragment, page, type PageContext } from "./layout.js";
import { DecidedCard, ReviewPage, type QueueFilter } from "./review-pages.js";
import { REVIEW_REASONS } from "../../models/runtime/review-policy.js";
import { RunDetailPage, RunProgress, RunsPage, type RunFilter, type RunProgressView } from "./runs-pages.js";
import { servePhoto } from "./photos.js";
import { staticAssets } from "./static-assets.js";

/** The console's session cookie: a random id, HttpOnly, SameSite=Strict, sent to /console only. */
export const SESSION_COOKIE = "facet_session";
/** How long a sign-in lasts. */
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Products per page of a run's detail and of the review queue. */
const PAGE_SIZE = 50;
/** Most versions a bulk approve from the console decides. */
const BULK_LIMIT = 1000;

declare module "fastify" {
  interface FastifyContextConfig {
    /** A console route: the caller comes from the session cookie, not a bearer token; errors on a page load render as HTML. */
    session?: boolean;
  }
}

/** Whether htmx sent this request (it then wants a fragment, and JSON errors that console.js shows). */
export function fromHtmx(request: FastifyRequest): boolean {
  return request.headers["hx-request"] === "true";
}

/** The page context of a signed-in request: who, and a CSRF token for its forms. */
function pageContext(request: FastifyRequest, reply: FastifyReply): PageContext {
  return { caller: callerOf(request), csrf: reply.generateCsrf() };
}

function html(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply.status(status).type("text/html; charset=utf-8").header("cache-control", "no-store").send(body);
}

/** A path inside the console to go back to (never another site: an open redirect). */
function consolePath(value: unknown, fallback: string): string {
  return typeof value === "string" && /^\/console(\/[^/\\]|$|\?)/.test(value) && !value.includes("//") ? value : fallback;
}

/** Where a failed console request goes: a sign-in redirect or an HTML error page for a page load; JSON (the API's) otherwise. */
export function consoleErrorReply(request: FastifyRequest, reply: FastifyReply, error: ApiError): boolean {
  if (!request.routeOptions.config.session || fromHtmx(request)) return false;
  if (error.status === 401 && request.method === "GET") {
    void reply.redirect(`/console/sign-in?${new URLSearchParams({ next: request.url }).toString()}`, 303);
    return true;
  }
  void html(reply, page("Something went wrong", undefined, undefined, <ErrorPage status={error.status} message={error.message} />), error.status);
  return true;
}

async function progressView(deps: ServerDeps, run: Run): Promise<RunProgressView> {
  const reasons = await itemsByStateAndReason(deps.ledger, run.id);
  const counts: RunCounts = { total: 0, pending: 0, done: 0, failed: 0, skipped: 0 };
  for (const r of reasons) {
    counts[r.state] += r.n;
    counts.total += r.n;
  }
  const failures = reasons
    .filter((r) => r.state === "failed")
    .map((r) => ({ reason: r.reason ?? "unknown", n: r.n }))
    .sort((a, b) => b.n - a.n);
  return { run, counts, failures };
}

function queueFilter(q: Record<string, string | undefined>): QueueFilter {
  const filter: QueueFilter = {};
  if (q.run) filter.runId = q.run;
  if (q.reason) {
    if (!(REVIEW_REASONS as readonly string[]).includes(q.reason)) throw new ApiError(400, "invalid", `reason must be one of ${REVIEW_REASONS.join(", ")}, got '${q.reason}'`, "reason", "enum");
    filter.reason = q.reason;
  }
  if (q.max_confidence) {
    const n = Number(q.max_confidence);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new ApiError(400, "invalid", `max_confidence must be a number from 0 to 1, got '${q.max_confidence}'`, "max_confidence", "range");
    filter.maxConfidence = n;
  }
  return filter;
}

function afterParam(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new ApiError(400, "invalid", `after must be a non-negative integer, got '${value}'`, "after", "integer");
  return Number(value);
}

const stringQuery = { type: "object", additionalProperties: { type: "string", maxLength: 500 } } as const;
const idParams = { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1, maxLength: 500 } } } as const;

/**
 * The console under /console: server-rendered pages (Preact to HTML) enhanced with htmx. Every
 * page but sign-in needs a session (an API token signed in; the same roles); every form carries
 * a CSRF token (@fastify/csrf-protection: a secret in an HttpOnly cookie, the token in the form
 * or htmx's header). Decisions and run commands go through the same ledger calls as the API
 * and are audited the same way.
 */
export function consoleRoutes(deps: ServerDeps) {
  const assets = staticAssets();
  const accept = [...ACCEPTED_FORMATS].map((f) => `image/${f === "jpg" ? "jpeg" : f}`).join(",");
  return async (app: FastifyInstance) => {
    await app.register(formbody, { bodyLimit: 64 * 1024 });
    await app.register(csrf, {
      cookieKey: "facet_csrf",
      cookieOpts: { path: "/console", sameSite: "strict", httpOnly: true, secure: "auto" },
      getToken: (req) => {
        const header = req.headers["x-csrf-token"];
        if (typeof header === "string") return header;
        const fromBody = (req.body as Record<string, unknown> | undefined)?._csrf;
        if (typeof fromBody === "string") return fromBody;
        // A plain multipart form (describe without JavaScript) carries it in its action's query.
        const fromQuery = (req.query as Record<string, unknown> | undefined)?._csrf;
        return typeof fromQuery === "string" ? fromQuery : undefined;
      },
    });
    app.addHook("preHandler", (request, reply, done) => (request.method === "POST" ? app.csrfProtection(request, reply, done) : done()));

    const view = { config: { role: "viewer" as const, session: true } };
    const review = { config: { role: "reviewer" as const, session: true } };
    const operate = { config: { role: "operator" as const, session: true } };
    const open = { config: { session: true } };

    app.get("/static/:name", { schema: { hide: true, params: { type: "object", properties: { name: { type: "string" } } } } }, async (request, reply) => {
      const asset = assets.get((request.params as { name: string }).name);
      if (!asset) throw new ApiError(404, "not_found", "no such console file", "name", "known_asset");
      return reply.type(asset.type).header("cache-control", "public, max-age=300").send(asset.body);
    });

    app.get("/", { ...open, schema: { hide: true } }, async (_request, reply) => reply.redirect("/console/runs", 303));

    app.get("/sign-in", { ...open, schema: { hide: true, querystring: stringQuery } }, async (request, reply) => {
      const next = consolePath((request.query as Record<string, string>).next, "/console/runs");
      return html(reply, page("Sign in", undefined, undefined, <SignInPage csrf={reply.generateCsrf()} next={next} />));
    });

    app.post("/sign-in", { ...open, schema: { hide: true } }, async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const next = consolePath(body.next, "/console/runs");
      const token = typeof body.token === "string" ? body.token.trim() : "";
      try {
        if (token === "") throw new ApiError(400, "invalid", "enter an API token", "token", "required");
        const caller = await authenticate(deps.ledger, token, "viewer");
        const session = await openSession(deps.ledger, caller.tokenId, SESSION_TTL_MS);
        void reply.setCookie(SESSION_COOKIE, session.id, { path: "/console", httpOnly: true, sameSite: "strict", secure: "auto", expires: session.expiresAt });
        return reply.redirect(next, 303);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status >= 500) throw error;
        const message = error.rule === "required" ? error.message : `That token does not sign in: ${error.message}.`;
        return html(reply, page("Sign in", undefined, undefined, <SignInPage csrf={reply.generateCsrf()} next={next} error={message} />), error.status);
      }
    });

    app.post("/sign-out", { ...open, schema: { hide: true } }, async (request, reply) => {
      const id = request.cookies[SESSION_COOKIE];
      if (id) await closeSession(deps.ledger, id);
      void reply.clearCookie(SESSION_COOKIE, { path: "/console" });
      return reply.redirect("/console/sign-in", 303);
    });

    // Runs.
    app.get("/runs", { ...view, schema: { hide: true, querystring: stringQuery } }, async (request, reply) => {
      const runs = await listRuns(deps.ledger, { limit: 20 });
      const views = await Promise.all(runs.map((run) => progressView(deps, run)));
      const notice = (request.query as Record<string, string>).notice;
      const ctx = pageContext(request, reply);
      return html(reply, page("Runs", "runs", ctx, <RunsPage views={views} ctx={ctx} {...(notice ? { notice } : {})} />));
    });

    app.post("/runs", { ...operate, schema: { hide: true } }, async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const model = typeof body.model === "string" && body.model.trim() !== "" ? body.model.trim() : "latest";
      const category = typeof body.category === "string" ? body.category.trim() : "";
      const mode = body.mode === "apply" ? "apply" : body.mode === "shadow" || body.mode === undefined ? "shadow" : undefined;
      if (mode === undefined) throw new ApiError(400, "invalid", `mode must be shadow or apply, got '${String(body.mode)}'`, "mode", "enum");
      const selection = category === "" ? ({ kind: "all" } as const) : ({ kind: "category", category } as const);
      const run = await startRun(deps.ledger, deps.models, { model, selection, mode, priority: 100, allowEmpty: false, allowEmptyHint: 'POST /v1/runs with "allow_empty": true', trigger: "console" });
      await recordAudit(deps.ledger, { actor: callerOf(request), action: "run.start", subject: run.id, detail: { model: run.model_version, selection, mode: run.mode, priority: run.priority, via: "console" } });
      return reply.redirect(`/console/runs/${encodeURIComponent(run.id)}`, 303);
    });

    app.get("/runs/:id", { ...view, schema: { hide: true, params: idParams, querystring: stringQuery } }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const q = request.query as Record<string, string | undefined>;
      const filter = (q.filter ?? "all") as RunFilter;
      if (!["all", "changed", "low", "failed"].includes(filter)) throw new ApiError(400, "invalid", `filter must be changed, low or failed, got '${filter}'`, "filter", "enum");
      const run = await getRun(deps.ledger, id);
      const items = await runItemsPage(
        deps.ledger,
        run.id,
        { changedCategory: filter === "changed", failed: filter === "failed", ...(filter === "low" ? { confidenceBelow: deps.reviewThreshold } : {}) },
        PAGE_SIZE,
        afterParam(q.after) ?? 0,
      );
      const ctx = pageContext(request, reply);
      const next = items.length === PAGE_SIZE ? items.at(-1)?.seq : undefined;
      return html(reply, page(`Run ${run.id}`, "runs", ctx, <RunDetailPage view={await progressView(deps, run)} items={items} filter={filter} next={next} lowBelow={deps.reviewThreshold} ctx={ctx} />));
    });

    app.get("/runs/:id/progress", { ...view, schema: { hide: true, params: idParams } }, async (request, reply) => {
      const { id } = request.params as { id: string };
      return html(reply, fragment(<RunProgress view={await progressView(deps, await getRun(deps.ledger, id))} />));
    });

    for (const action of ["pause", "resume", "cancel"] as const satisfies readonly RunAction[]) {
      app.post(`/runs/:id/${action}`, { ...operate, schema: { hide: true, params: idParams } }, async (request, reply) => {
        const { id } = request.params as { id: string };
        const run = await controlRun(deps.ledger, id, action);
        await recordAudit(deps.ledger, { actor: callerOf(request), action: `run.${action}`, subject: run.id, detail: { state: run.state, via: "console" } });
        const back = consolePath((request.body as Record<string, unknown> | undefined)?.back, "/console/runs");
        return reply.redirect(back, 303);
      });
    }

    // The review queue.
    app.get("/review", { ...view, schema: { hide: true, querystring: stringQuery } }, async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const filter = queueFilter(q);
      const after = afterParam(q.after);
      const items = await listReviewQueue(deps.ledger, {
        ...filter,
        limit: PAGE_SIZE,
        ...(after !== undefined ? { afterId: after } : {}),
      });
      const ctx = pageContext(request, reply);
      const next = items.length === PAGE_SIZE ? items.at(-1)?.versionId : undefined;
      return html(
        reply,
        page(
          "Review queue",
          "review",
          ctx,
          <ReviewPage items={items} filter={filter} vocabulary={deps.describer.attributes} lowBelow={deps.reviewThreshold} ctx={ctx} {...(q.notice ? { notice: q.notice } : {})} {...(next !== undefined ? { next } : {})} />,
        ),
      );
    });

    app.post("/review/approve", { ...review, schema: { hide: true } }, async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, string | undefined>;
      const filter = queueFilter(body);
      if (filter.runId === undefined && filter.reason === undefined && filter.maxConfidence === undefined) {
        throw new ApiError(400, "invalid", "a bulk approve needs a filter (run, reason or confidence): it never approves the whole queue by accident", "filter", "filter_required");
      }
      const result = await approveMatching(
        deps.ledger,
        deps.applyFunction,
        filter,
        callerOf(request),
        BULK_LIMIT,
      );
      const notice = `Approved ${result.approved}; ${result.refused.length} refused${result.refused.length > 0 ? ` (${result.refused.slice(0, 3).map((r) => r.productId).join(", ")}${result.refused.length > 3 ? ", …" : ""}: changed since, locked or gone)` : ""}.`;
      return reply.redirect(`/console/review?${new URLSearchParams({ notice }).toString()}`, 303);
    });

    app.post("/review/:versionId", { ...review, schema: { hide: true, params: { type: "object", required: ["versionId"], properties: { versionId: { type: "integer", minimum: 1 } } } } }, async (request, reply) => {
      const { versionId } = request.params as { versionId: number };
      const body = (request.body ?? {}) as Record<string, unknown>;
      const decision = body.decision;
      if (decision !== "approve" && decision !== "reject") throw new ApiError(400, "invalid", `decision must be approve or reject, got '${String(decision)}'`, "decision", "enum");
      const [item] = await listReviewQueue(deps.ledger, { versionId, limit: 1 });
      if (!item) throw new NotFoundError(`version ${versionId} is not waiting for review (decided already, or unknown)`);
      const edit = decision === "approve" ? editOf(item.description, item.attributes, body, deps.describer.attributes) : undefined;
      const kind = decision === "reject" ? "reject" : edit ? "edit" : "approve";
      const caller = callerOf(request);
      const result = await decideReview(deps.ledger, deps.applyFunction, { versionId, decision: kind, ...(edit ?? {}), actor: caller });
      if (!fromHtmx(request)) return reply.redirect(`/console/review?${new URLSearchParams({ notice: `${result.productId}: ${kind === "reject" ? "rejected" : "applied"}.` }).toString()}`, 303);
      return html(reply, fragment(<DecidedCard versionId={versionId} productId={result.productId} decision={kind} text={result.text} by={caller.name} />));
    });

    // Describe.
    app.get("/describe", { ...view, schema: { hide: true } }, async (request, reply) => {
      const ctx = pageContext(request, reply);
      return html(reply, page("Describe", "describe", ctx, <DescribePage ctx={ctx} accept={accept} />));
    });

    app.post("/describe", { ...review, schema: { hide: true, querystring: stringQuery } }, async (request, reply) => {
      const upload = await readUpload(request);
      const result = await deps.describer.describe({ id: `console-${request.id}`, photos: upload.photos, ...(upload.text !== undefined ? { text: upload.text } : {}) });
      if (fromHtmx(request)) return html(reply, fragment(<DescribeResult result={result} />));
      const ctx = pageContext(request, reply);
      return html(reply, page("Describe", "describe", ctx, <DescribePage ctx={ctx} accept={accept} result={result} />));
    });

    // Products.
    app.get("/products", { ...view, schema: { hide: true, querystring: stringQuery } }, async (request, reply) => {
      const id = ((request.query as Record<string, string | undefined>).id ?? "").trim();
      if (id === "") throw new ApiError(400, "invalid", "give a product id", "id", "required");
      return reply.redirect(`/console/products/${encodeURIComponent(id)}`, 303);
    });

    app.get("/products/:id", { ...view, schema: { hide: true, params: idParams, querystring: stringQuery } }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const [keys, versions] = await Promise.all([productPhotoKeys(deps.ledger, id), productHistory(deps.ledger, id)]);
      if (keys === undefined && versions.length === 0) throw new NotFoundError(`no product ${id} in the catalogue or the ledger`);
      const ctx = pageContext(request, reply);
      const notice = (request.query as Record<string, string | undefined>).notice;
      return html(reply, page(`Product ${id}`, "products", ctx, <ProductPage productId={id} photoCount={keys?.length ?? 0} versions={versions} ctx={ctx} {...(notice ? { notice } : {})} />));
    });

    app.post("/products/:id/rollback", { ...review, schema: { hide: true, params: idParams } }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const result = await rollbackOneProduct(deps.ledger, deps.applyFunction, id, callerOf(request));
      const notice = result.outcome === "rolled_back" ? `Version ${result.versionId} rolled back: the text it replaced is restored.` : `Version ${result.versionId} was not rolled back: ${result.outcome.replaceAll("_", " ")}.`;
      return reply.redirect(`/console/products/${encodeURIComponent(id)}?${new URLSearchParams({ notice }).toString()}`, 303);
    });

    app.get("/photos/:id/:n", { ...view, schema: { hide: true, params: { type: "object", required: ["id", "n"], properties: { id: { type: "string", minLength: 1, maxLength: 500 }, n: { type: "integer", minimum: 0, maximum: 15 } } } } }, async (request, reply) => {
      const { id, n } = request.params as { id: string; n: number };
      const photo = await servePhoto(deps, id, n);
      return reply.type("image/webp").header("cache-control", "private, max-age=300").send(photo);
    });
  };
}

/**
 * What a reviewer changed before approving: the text as shown and any attribute whose label
 * they corrected (each checked against the model's labels); undefined when nothing changed.
 */
export function editOf(
  generated: string,
  attributes: Record<string, { label: string }>,
  body: Record<string, unknown>,
  vocabulary: ReadonlyArray<{ name: string; labels: readonly string[] }>,
): { text: string; attributes?: Record<string, string> } | undefined {
  const text = typeof body.text === "string" ? body.text.replace(/\r\n/g, "\n").trim() : generated;
  if (text === "") throw new ApiError(400, "invalid", "the text to approve is empty: write one, or reject", "text", "required");
  if (text.length > MAX_TEXT) throw new ApiError(400, "invalid", `the text is ${text.length} characters; at most ${MAX_TEXT}`, "text", "max_length");
  const corrected: Record<string, string> = {};
  for (const [name, predicted] of Object.entries(attributes)) {
    const given = body[`attr.${name}`];
    if (typeof given !== "string" || given.trim() === "" || given.trim() === predicted.label) continue;
    const labels = vocabulary.find((a) => a.name === name)?.labels ?? [];
    if (!labels.includes(given.trim())) throw new ApiError(400, "invalid", `${name} must be one of the model's labels (${labels.join(", ")}), got '${given}'`, `attr.${name}`, "label");
    corrected[name] = given.trim();
  }
  const changed = Object.keys(corrected).length > 0;
  if (text === generated.trim() && !changed) return undefined;
  return { text, ...(changed ? { attributes: corrected } : {}) };
}
