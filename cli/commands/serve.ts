import sharp from "sharp";
import { Registry, collectDefaultMetrics } from "prom-client";
import { onShutdown } from "../../shared/process/shutdown.js";
import { openObjectStore } from "../../shared/storage/object-store.js";
import { buildServer } from "../../server/app.js";
import { startDescribeService } from "../../server/describe-service.js";
import { serveObservability } from "../observability.js";
import { modelCacheFromConfig } from "../model-cache-config.js";
import { Services } from "../services.js";
import { ConfigError } from "../../shared/errors/index.js";
import { parseFlags } from "../usage-error.js";

const HELP = `usage: facet serve [--port N]

Serves Facet's JSON API (OpenAPI 3 at /openapi.json) and the review console (/console: sign
in with an API token) on --port (default SERVE_PORT, 8080), and /metrics, /healthz and /readyz on METRICS_PORT like the other roles. Every /v1 route
takes Authorization: Bearer TOKEN (facet token create). Uploads are described with
SERVE_MODEL (default latest, resolved at start) through the same micro-batcher and
inference threads a worker uses. Stops on SIGTERM, finishing requests in flight.`;

/** --port: 0 to 65535 (0: any free port; the "serving" log line says which). */
function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new ConfigError(`facet serve: --port must be an integer from 0 to 65535, got '${value}'`);
  return n;
}

/** `facet serve`: the API until SIGTERM/SIGINT. */
export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseFlags("serve", args, { port: { type: "string" }, help: { type: "boolean", short: "h", default: false } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const services = new Services("serve");
  const c = services.config;
  const port = values.port === undefined ? c.SERVE_PORT : portNumber(values.port);
  sharp.concurrency(c.SHARP_CONCURRENCY);
  const source = openObjectStore(c.MODEL_STORE, { ...services.s3, access: "bundles" });
  const images = openObjectStore(c.IMAGE_STORE, { ...services.s3, access: "photos" });
  const models = modelCacheFromConfig(c, source, services.logger);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "facet_serve_" });
  let observability: { close(): Promise<void> } | undefined;
  let describer: Awaited<ReturnType<typeof startDescribeService>> | undefined;
  try {
    describer = await startDescribeService({ models, version: c.SERVE_MODEL, batchSize: c.BATCH_SIZE, batchMaxWaitMs: c.SERVE_BATCH_MAX_WAIT_MS });
    const served = describer.version;
    observability = await serveObservability(services, registry, { model: async () => `serving ${served}` });
    const app = await buildServer({
      ledger: services.ledger,
      logger: services.logger,
      describer,
      models: source,
      images,
      reviewThreshold: c.REVIEW_THRESHOLD,
      applyFunction: c.CATALOGUE_APPLY_FUNCTION,
      limits: { maxPhotoBytes: c.SERVE_MAX_PHOTO_BYTES, requestTimeoutMs: c.SERVE_REQUEST_TIMEOUT_MS, ratePerMinute: c.SERVE_RATE_PER_MINUTE },
    });
    const address = await app.listen({ port, host: "0.0.0.0" });
    services.logger.info({ address, port: Number(new URL(address).port), model: served }, "serving");
    const signal = await onShutdown(() => app.close(), { hardDeadlineMs: c.SHUTDOWN_DEADLINE_MS + 5000 });
    services.logger.info({ signal }, "server stopped");
    return 0;
  } finally {
    await describer?.close();
    await observability?.close();
    await models.close();
    source.close();
    images.close();
    await services.close();
  }
}
