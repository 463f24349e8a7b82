import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ConfigError } from "../../shared/errors/index.js";
import { recordAudit } from "../../shared/ledger/audit-log.js";
import { getRun, listRuns, runCounts } from "../../shared/ledger/run-ledger.js";
import { RUN_MODES, RUN_STATES, type Run, type RunMode } from "../../shared/ledger/run.js";
import { parseSelection } from "../../shared/ledger/selection.js";
import { controlRun, runJson, startRun, type RunAction } from "../../producers/run-control.js";
import { ApiError } from "../api-error.js";
import type { ServerDeps } from "../app.js";
import { callerOf } from "../auth.js";

/** How often a run's live progress (server-sent events) is read and sent, ms. */
const PROGRESS_EVERY_MS = 1000;

const runIdParams = { type: "object", required: ["id"], properties: { id: { type: "string", minLength: 1, maxLength: 200 } }, additionalProperties: false } as const;

const startBody = {
  type: "object",
  required: ["model", "selection"],
  additionalProperties: false,
  properties: {
    model: { type: "string", minLength: 1, maxLength: 100, description: "a version in the model store, or latest (pinned when the run starts)" },
    selection: {
      type: "object",
      required: ["kind"],
      description: '{"kind":"all"} | {"kind":"category","category":…} | {"kind":"updated_since","since":ISO-8601} | {"kind":"ids","ids":[…]} | {"kind":"changed_since_last_success"}',
      properties: { kind: { type: "string", enum: ["all", "category", "updated_since", "ids", "changed_since_last_success"] } },
    },
    mode: { type: "string", enum: [...RUN_MODES], default: "shadow" },
    priority: { type: "integer", minimum: 1, maximum: 1_000_000, default: 100 },
    allow_empty: { type: "boolean", default: false },
  },
} as const;

interface StartBody {
  model: string;
  selection: unknown;
  mode: RunMode;
  priority: number;
  allow_empty: boolean;
}

/** A run and its counts, as the API shows it. */
async function runWithCounts(deps: ServerDeps, run: Run) {
  return runJson(run, await runCounts(deps.ledger, run.id));
}


/** Stream `id`'s progress as server-sent events (`progress`, then `end` once it finished) until it finishes or the client leaves. */
async function streamProgress(deps: ServerDeps, id: string, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  let run = await getRun(deps.ledger, id); // 404 before the stream starts
  reply.hijack();
  reply.raw.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
  let open = true;
  request.raw.on("close", () => {
    open = false;
  });
  while (open) {
    const body = await runWithCounts(deps, run);
    const finished = run.state === "completed" || run.state === "cancelled";
    reply.raw.write(`event: ${finished ? "end" : "progress"}\ndata: ${JSON.stringify(body)}\n\n`);
    if (finished) break;
    await new Promise((resolve) => setTimeout(resolve, PROGRESS_EVERY_MS));
    run = await getRun(deps.ledger, id);
  }
  reply.raw.end();
}

/** /v1/runs: list, start, status, pause, resume, cancel, and live progress. */
export function runRoutes(deps: ServerDeps) {
  return async (app: FastifyInstance) => {
    app.get(
      "/runs",
      {
        config: { role: "viewer" },
        schema: {
          summary: "The latest runs, newest first",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: { limit: { type: "integer", minimum: 1, maximum: 500, default: 20 }, state: { type: "string", enum: [...RUN_STATES] } },
          },
        },
      },
      async (request) => {
        const query = request.query as { limit: number; state?: (typeof RUN_STATES)[number] };
        const runs = await listRuns(deps.ledger, { limit: query.limit, ...(query.state ? { states: [query.state] } : {}) });
        return { runs: runs.map((r) => runJson(r)) };
      },
    );

    app.post("/runs", { config: { role: "operator" }, schema: { summary: "Start a run", body: startBody } }, async (request, reply) => {
      const body = request.body as StartBody;
      let selection;
      try {
        selection = parseSelection(body.selection);
      } catch (error) {
        if (error instanceof ConfigError) throw new ApiError(400, "invalid", `body.${error.message}`, `body.${error.message.split(":")[0]}`, "schema");
        throw error;
      }
      const run = await startRun(deps.ledger, deps.models, { model: body.model, selection, mode: body.mode, priority: body.priority, allowEmpty: body.allow_empty, allowEmptyHint: '"allow_empty": true', trigger: "api" });
      await recordAudit(deps.ledger, { actor: callerOf(request), action: "run.start", subject: run.id, detail: { model: run.model_version, selection, mode: run.mode, priority: run.priority } });
      return reply.status(201).send(await runWithCounts(deps, run));
    });

    app.get("/runs/:id", { config: { role: "viewer" }, schema: { summary: "A run's state and counts", params: runIdParams } }, async (request) => {
      const { id } = request.params as { id: string };
      return runWithCounts(deps, await getRun(deps.ledger, id));
    });

    app.get(
      "/runs/:id/events",
      { config: { role: "viewer" }, schema: { summary: "A run's live progress, as server-sent events (progress each second, then end)", params: runIdParams } },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        await streamProgress(deps, id, request, reply);
      },
    );

    for (const action of ["pause", "resume", "cancel"] as const satisfies readonly RunAction[]) {
      app.post(`/runs/:id/${action}`, { config: { role: "operator" }, schema: { summary: `${action[0]?.toUpperCase()}${action.slice(1)} a run`, params: runIdParams } }, async (request) => {
        const { id } = request.params as { id: string };
        const run = await controlRun(deps.ledger, id, action);
        await recordAudit(deps.ledger, { actor: callerOf(request), action: `run.${action}`, subject: run.id, detail: { state: run.state } });
        return runWithCounts(deps, run);
      });
    }
  };
}
