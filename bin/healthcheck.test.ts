import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { configSchema } from "../shared/config/config.js";
import { startMetricsServer, type MetricsServer } from "../shared/metrics/metrics-server.js";
import { REPO_ROOT_DIR } from "../shared/repo-root.js";

const SCRIPT = path.join(REPO_ROOT_DIR, "bin/healthcheck.mjs");

/** Run the image's HEALTHCHECK command with `env`; resolves with its exit code and output. */
async function healthcheck(env: Record<string, string>): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [SCRIPT], { env: { ...process.env, ...env } });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const error = e as { code: number; stdout: string; stderr: string };
    return { code: error.code, out: error.stdout + error.stderr };
  }
}

describe("bin/healthcheck.mjs (the image's HEALTHCHECK)", () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("passes while a real metrics server answers /healthz, and fails naming the URL once it is gone", async () => {
    server = await startMetricsServer({ port: 0, registry: new Registry(), readiness: {}, logger: pino({ level: "silent" }) });
    const port = String(server.port);
    expect(await healthcheck({ METRICS_PORT: port })).toEqual({ code: 0, out: "" });
    await server.close();
    server = undefined;
    const down = await healthcheck({ METRICS_PORT: port });
    expect(down.code).toBe(1);
    expect(down.out).toContain(`http://127.0.0.1:${port}/healthz did not answer`);
  });

  it("passes, saying why, when METRICS_PORT=0 turns the endpoint off", async () => {
    expect(await healthcheck({ METRICS_PORT: "0" })).toEqual({ code: 0, out: "healthcheck: METRICS_PORT=0, no /healthz to ask; passing\n" });
  });

  it("fails with one line naming METRICS_PORT when it is not a port", async () => {
    expect(await healthcheck({ METRICS_PORT: "ninety" })).toEqual({ code: 1, out: "healthcheck: METRICS_PORT must be a port number (0-65535), got 'ninety'\n" });
  });

  it("defaults to the port configSchema defaults METRICS_PORT to", () => {
    const stated = /DEFAULT_METRICS_PORT = (\d+);/.exec(readFileSync(SCRIPT, "utf8"))?.[1];
    expect(Number(stated)).toBe(configSchema.parse({}).METRICS_PORT);
  });
});
