import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../logging/logger.js";

/** One readiness check: resolves with a short detail when ready, throws (or rejects) when not. */
export type ReadinessCheck = () => Promise<string | void>;

export interface MetricsServerOptions {
  /** METRICS_PORT; 0 picks a free port (tests), the caller disables the server otherwise. */
  port: number;
  host?: string;
  registry: Registry;
  /** Named checks for /readyz: e.g. postgres, redis, model. All must pass. */
  readiness: Record<string, ReadinessCheck>;
  /** A check that takes longer than this fails, ms. Default 2000 (probes time out at 1 s by default in Kubernetes; keep the server answering). */
  checkTimeoutMs?: number;
  logger: Logger;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * `/metrics` (Prometheus text format), `/healthz` (the process is alive: it answers) and
 * `/readyz` (every readiness check passes; 503 with the failing ones otherwise). The body of
 * /readyz is JSON naming each check, so `curl` tells an operator what is wrong.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const timeoutMs = options.checkTimeoutMs ?? 2000;
  let lastReady: boolean | undefined;

  async function readiness(): Promise<{ ready: boolean; checks: Record<string, { ok: boolean; detail: string }> }> {
    const entries = await Promise.all(
      Object.entries(options.readiness).map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const detail = await Promise.race([
            check(),
            new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
          ]);
          return [name, { ok: true, detail: detail || "ok" }] as const;
        } catch (error) {
          return [name, { ok: false, detail: error instanceof Error ? error.message : String(error) }] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    return { ready: entries.every(([, c]) => c.ok), checks };
  }

  const server: Server = createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    void (async () => {
      try {
        if (req.method !== "GET" && req.method !== "HEAD") {
          res.writeHead(405, { allow: "GET, HEAD" }).end();
        } else if (url === "/metrics") {
          const body = await options.registry.metrics();
          res.writeHead(200, { "content-type": options.registry.contentType }).end(body);
        } else if (url === "/healthz") {
          res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
        } else if (url === "/readyz") {
          const result = await readiness();
          if (result.ready !== lastReady) {
            // Log transitions only: probes ask every few seconds.
            const failing = Object.entries(result.checks).filter(([, c]) => !c.ok).map(([name, c]) => `${name}: ${c.detail}`);
            if (result.ready) options.logger.info({ stage: "readiness" }, "ready");
            else options.logger.warn({ stage: "readiness", failing }, "not ready");
            lastReady = result.ready;
          }
          res.writeHead(result.ready ? 200 : 503, { "content-type": "application/json" }).end(`${JSON.stringify(result)}\n`);
        } else {
          res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics, /healthz or /readyz\n");
        }
      } catch (error) {
        options.logger.error({ err: error, stage: "metrics" }, "metrics endpoint failed");
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end(`${error instanceof Error ? error.message : String(error)}\n`);
      }
    })();
  });
  // Scrapes must not keep a draining process alive.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ port, stage: "metrics" }, "serving /metrics, /healthz and /readyz");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
