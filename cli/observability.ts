import type { Registry } from "prom-client";
import { startMetricsServer, type MetricsServer, type ReadinessCheck } from "../shared/metrics/metrics-server.js";
import { postgresReady, redisReady } from "../shared/metrics/readiness.js";
import type { Services } from "./services.js";

/**
 * Serve a long-running command's /metrics, /healthz and /readyz on METRICS_PORT (0: none).
 * Readiness always includes Postgres and Redis; `extra` adds the command's own checks.
 */
export async function serveObservability(services: Services, registry: Registry, extra: Record<string, ReadinessCheck> = {}): Promise<{ close(): Promise<void> }> {
  const port = services.config.METRICS_PORT;
  if (port === 0) return { close: async () => undefined };
  const redis = redisReady(services.config.REDIS_URL);
  let server: MetricsServer;
  try {
    server = await startMetricsServer({
      port,
      registry,
      readiness: { postgres: postgresReady(services.db), redis: redis.check, ...extra },
      logger: services.logger,
    });
  } catch (error) {
    redis.close();
    throw error;
  }
  return {
    async close() {
      await server.close();
      redis.close();
    },
  };
}
