import type { FastifyInstance } from "fastify";
import { REVIEW_REASONS } from "../../models/runtime/review-policy.js";
import { productHistory } from "../../shared/ledger/product-history.js";
import { rollbackOneProduct } from "../../shared/ledger/rollback-chunk.js";
import { approveMatching, decideReview, listReviewQueue, type ReviewDecisionKind, type ReviewItem } from "../../shared/ledger/review-decisions.js";
import { ApiError } from "../api-error.js";
import type { ServerDeps } from "../app.js";
import { callerOf } from "../auth.js";
import { MAX_TEXT } from "../limits.js";

/** Most versions one bulk approve decides. */
const BULK_LIMIT = 1000;

const filterProperties = {
  run: { type: "string", minLength: 1, maxLength: 200 },
  reason: { type: "string", enum: [...REVIEW_REASONS] },
  max_confidence: { type: "number", minimum: 0, maximum: 1 },
} as const;

interface Filter {
  run?: string;
  reason?: string;
  max_confidence?: number;
}

function filterOf(f: Filter) {
  return { ...(f.run !== undefined ? { runId: f.run } : {}), ...(f.reason !== undefined ? { reason: f.reason } : {}), ...(f.max_confidence !== undefined ? { maxConfidence: f.max_confidence } : {}) };
}

function itemJson(i: ReviewItem) {
  return {
    version_id: i.versionId, run_id: i.runId, product_id: i.productId, description: i.description, attributes: i.attributes, min_confidence: i.minConfidence,
    reasons: i.reasons, detail: i.detail, familiarity: i.familiarity, created_at: i.createdAt, current_text: i.currentText, artisan_text: i.artisanText, category: i.category,
  };
}


/** /v1/review: the queue, one decision, a bulk approve; /v1/products/{id}: a product's history, and rolling it back. */
export function reviewRoutes(deps: ServerDeps) {
  const applyFunction = deps.applyFunction;
  return async (app: FastifyInstance) => {
    app.get(
      "/review",
      {
        config: { role: "viewer" },
        schema: {
          summary: "Versions waiting for a person, oldest first",
          querystring: { type: "object", additionalProperties: false, properties: { ...filterProperties, limit: { type: "integer", minimum: 1, maximum: 500, default: 50 }, after: { type: "integer", minimum: 0 } } },
        },
      },
      async (request) => {
        const q = request.query as Filter & { limit: number; after?: number };
        const items = await listReviewQueue(deps.ledger, { ...filterOf(q), limit: q.limit, ...(q.after !== undefined ? { afterId: q.after } : {}) });
        return { items: items.map(itemJson) };
      },
    );

    app.post(
      "/review/:versionId",
      {
        config: { role: "reviewer" },
        schema: {
          summary: "Approve, edit and approve, or reject one version (recorded with who and when)",
          params: { type: "object", required: ["versionId"], additionalProperties: false, properties: { versionId: { type: "integer", minimum: 1 } } },
          body: {
            type: "object",
            required: ["decision"],
            additionalProperties: false,
            properties: {
              decision: { type: "string", enum: ["approve", "edit", "reject"] },
              text: { type: "string", minLength: 1, maxLength: MAX_TEXT, description: "edit: the text to apply" },
              attributes: { type: "object", additionalProperties: { type: "string", minLength: 1, maxLength: 100 }, description: "edit: corrected labels by attribute" },
            },
          },
        },
      },
      async (request) => {
        const { versionId } = request.params as { versionId: number };
        const body = request.body as { decision: ReviewDecisionKind; text?: string; attributes?: Record<string, string> };
        if (body.decision === "edit" && body.text === undefined) throw new ApiError(400, "invalid", "an edit needs the text to apply", "body.text", "required");
        if (body.decision !== "edit" && (body.text !== undefined || body.attributes !== undefined)) {
          throw new ApiError(400, "invalid", `text and attributes go with decision "edit", not "${body.decision}"`, body.text !== undefined ? "body.text" : "body.attributes", "edit_only");
        }
        const result = await decideReview(deps.ledger, applyFunction, {
          versionId,
          decision: body.decision,
          ...(body.text !== undefined ? { text: body.text } : {}),
          ...(body.attributes !== undefined ? { attributes: body.attributes } : {}),
          actor: callerOf(request),
        });
        return { version_id: result.versionId, product_id: result.productId, status: result.status, text: result.text };
      },
    );

    app.post(
      "/review/approve",
      {
        config: { role: "reviewer" },
        schema: {
          summary: `Approve every version in review that the filter matches (at most ${BULK_LIMIT}); each is its own decision`,
          body: { type: "object", additionalProperties: false, properties: filterProperties },
        },
      },
      async (request) => {
        const body = (request.body ?? {}) as Filter;
        if (body.run === undefined && body.reason === undefined && body.max_confidence === undefined) {
          throw new ApiError(400, "invalid", "a bulk approve needs a filter (run, reason or max_confidence): it never approves the whole queue by accident", "body", "filter_required");
        }
        const result = await approveMatching(deps.ledger, applyFunction, filterOf(body), callerOf(request), BULK_LIMIT);
        return { approved: result.approved, refused: result.refused.map((r) => ({ version_id: r.versionId, product_id: r.productId, reason: r.reason })) };
      },
    );

    app.get(
      "/products/:id/versions",
      { config: { role: "viewer" }, schema: { summary: "A product's description versions, newest first, with review decisions", params: { type: "object", required: ["id"], additionalProperties: false, properties: { id: { type: "string", minLength: 1, maxLength: 500 } } } } },
      async (request) => {
        const { id } = request.params as { id: string };
        const versions = await productHistory(deps.ledger, id);
        if (versions.length === 0) throw new ApiError(404, "not_found", `product ${id} has no description versions`, "params.id", "known_product");
        return {
          product_id: id,
          versions: versions.map((v) => ({
            version_id: v.versionId, run_id: v.runId, model_version: v.modelVersion, status: v.status, description: v.description, reasons: v.reasons, created_at: v.createdAt, current: v.current,
            decision: v.decision && { kind: v.decision.kind, text: v.decision.text, attributes: v.decision.attributes, by: v.decision.by, at: v.decision.at },
          })),
        };
      },
    );

    app.post(
      "/products/:id/rollback",
      {
        config: { role: "reviewer" },
        schema: {
          summary: "Roll one product back: restore the text its current version replaced (an artisan's later edit or lock is kept), audited",
          params: { type: "object", required: ["id"], additionalProperties: false, properties: { id: { type: "string", minLength: 1, maxLength: 500 } } },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const result = await rollbackOneProduct(deps.ledger, applyFunction, id, callerOf(request));
        return { product_id: id, version_id: result.versionId, outcome: result.outcome };
      },
    );
  };
}
