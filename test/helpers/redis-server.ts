import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { waitFor } from "./redis.js";

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A Redis server of the test's own, so it may FLUSHALL (or be stopped) without touching the
 * machine's shared Redis that other tests use.
 */
export interface PrivateRedis {
  url: string;
  /** The server's process id (benchmarks read its CPU time). */
  pid: number;
  flushAll(): Promise<void>;
  /** Stop the server but keep its port: `start()` brings it back (empty) on the same URL. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  client.on("error", () => undefined); // refused until the server is up: waitFor below retries
  let proc: ChildProcess;
  const start = async () => {
    proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    await waitFor("private redis up", async () => {
      try {
        if (client.status !== "ready") await client.connect();
        return (await client.ping()) === "PONG";
      } catch {
        return false;
      }
    });
  };
  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
  };
  await start();
  return {
    url,
    get pid() {
      return proc.pid as number;
    },
    kill,
    start,
    async flushAll() {
      await client.flushall();
    },
    async stop() {
      client.disconnect();
      await kill();
    },
  };
}
