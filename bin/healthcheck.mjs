#!/usr/bin/env node
// The image's HEALTHCHECK: exit 0 when this container's Facet process answers /healthz on
// METRICS_PORT, 1 otherwise, with one line saying why. Every long-running role (worker,
// producer, serve) serves it; METRICS_PORT=0 turns the endpoint off, and then there is
// nothing to ask, so the check passes and says so. Plain Node, no dependencies: it runs
// every 15 s beside the process it checks.
export const DEFAULT_METRICS_PORT = 9464;
const TIMEOUT_MS = 3000;

const raw = process.env.METRICS_PORT ?? String(DEFAULT_METRICS_PORT);
const port = Number(raw);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`healthcheck: METRICS_PORT must be a port number (0-65535), got '${raw}'`);
  process.exit(1);
}
if (port === 0) {
  console.log("healthcheck: METRICS_PORT=0, no /healthz to ask; passing");
  process.exit(0);
}
const url = `http://127.0.0.1:${port}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (res.ok) process.exit(0);
  console.error(`healthcheck: ${url} answered ${res.status}`);
} catch (error) {
  console.error(`healthcheck: ${url} did not answer: ${error instanceof Error ? (error.cause?.message ?? error.message) : String(error)}`);
}
process.exit(1);
