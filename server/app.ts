import { randomUUID } from "node:crypto";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import cookie from "@fastify/cookie";
import helmet from "@fastify/helmet";
import multipart from "@fastify/multipart";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import type { Logger } from "../shared/logging/logger.js";
import type { Role } from "../shared/ledger/api-tokens.js";
import type { LedgerContext } from "../shared/ledger/run-ledger.js";
import type { ObjectStore } from "../shared/storage/object-store.js";
import { ApiError, toApiError } from "./api-error.js";
import { MAX_PHOTOS } from "./limits.js";
import { authenticate, authenticateSession, bearerToken, type Caller } from "./auth.js";
import { consoleErrorReply, consoleRoutes, SESSION_COOKIE } from "./console/console-routes.js";
import type { DescribeService } from "./describe-service.js";
import { describeRoutes } from "./routes/describe.js";
import { reviewRoutes } from "./routes/review.js";
import { runRoutes } from "./routes/runs.js";

/** The request limits `facet serve` enforces (config: SERVE_*). */
export interface ServerLimits {
  /** Largest photo file, bytes. */
  maxPhotoBytes: number;
  /** Longest a request may take, from its first byte to the answer, ms. */
  requestTimeoutMs: number;
  /** Requests per minute per token (per address for requests without one). */
  ratePerMinute: number;
}

export interface ServerDeps {
  ledger: LedgerContext;
  logger: Logger;
  describer: DescribeService;
  /** MODEL_STORE, where a run's model version is resolved. */
  models: ObjectStore;
  /** IMAGE_STORE: the catalogue's photos, which the console shows by product id. */
  images: ObjectStore;
  /** REVIEW_THRESHOLD: the console marks confidences below it, and its "low confidence" filter uses it. */
  reviewThreshold: number;
  /** CATALOGUE_APPLY_FUNCTION: how an approved text reaches the catalogue. */
  applyFunction: string;
  limits: ServerLimits;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The token's holder, on every /v1 route (set before the body is read). */
    caller: Caller | undefined;
  }
  interface FastifyContextConfig {
    /** The least role a route needs; a route without one is public (the OpenAPI description). */
    role?: Role;
  }
}


/**
 * `facet serve`'s HTTP app: the JSON API under /v1 and its OpenAPI 3 description at
 * /openapi.json. Every /v1 route needs a token of at least its role (checked before the body
 * is read, so a refused upload costs nothing), is rate-limited per token, and answers errors
 * as `{"error": {…}}` naming the field and the rule (server/api-error.ts).
 */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is Fastify's logger; its type adds fields Fastify's interface does not name.
    loggerInstance: deps.logger as FastifyBaseLogger,
    requestTimeout: deps.limits.requestTimeoutMs,
    genReqId: () => randomUUID(),
    bodyLimit: 1024 * 1024,
    // Unknown properties are refused (naming them) rather than silently dropped.
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
  });
  app.decorateRequest("caller", undefined);
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Facet", version: "1", description: "Product descriptions from photos: describe, runs, review." },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(multipart, {
    limits: { fileSize: deps.limits.maxPhotoBytes, files: MAX_PHOTOS, fields: 4, fieldSize: 16 * 1024, parts: MAX_PHOTOS + 4, headerPairs: 100 },
    throwFileSizeLimit: true,
  });

  await app.register(cookie);
  // Security headers on every answer; the console's pages load only this origin's files.
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    referrerPolicy: { policy: "no-referrer" },
  });

  // The API takes a bearer token; the console (config.session) its session cookie.
  app.addHook("onRequest", async (request: FastifyRequest) => {
    const needed = request.routeOptions.config.role;
    if (needed === undefined) return;
    request.caller = request.routeOptions.config.session
      ? await authenticateSession(deps.ledger, request.cookies[SESSION_COOKIE], needed)
      : await authenticate(deps.ledger, bearerToken(request.headers.authorization), needed);
  });
  await app.register(rateLimit, {
    hook: "preHandler",
    max: deps.limits.ratePerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => request.caller?.tokenId ?? request.ip,
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`more than ${context.max} requests a minute with this token; try again in ${context.after}`), { statusCode: 429 }),
  });

  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const answer = toApiError(error);
    if (answer.status >= 500) request.log.error({ err: error }, "request failed");
    else request.log.info({ status: answer.status, code: answer.code, field: answer.field, rule: answer.rule }, "request refused");
    if (consoleErrorReply(request, reply, answer)) return;
    void reply.status(answer.status).send(answer.toJSON());
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    void reply.status(404).send(new ApiError(404, "not_found", `no route ${request.method} ${request.url.split("?")[0]}`, "path", "route").toJSON());
  });

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  await app.register(describeRoutes(deps), { prefix: "/v1" });
  await app.register(runRoutes(deps), { prefix: "/v1" });
  await app.register(reviewRoutes(deps), { prefix: "/v1" });
  await app.register(consoleRoutes(deps), { prefix: "/console" });
  app.get("/", { schema: { hide: true } }, async (_request, reply) => reply.redirect("/console/runs", 303));
  return app;
}
