import { Redis } from "ioredis";
import type { Db } from "../db/database.js";
import type { ReadinessCheck } from "./metrics-server.js";

/** Postgres answers a trivial query. */
export function postgresReady(db: Db): ReadinessCheck {
  return async () => {
    await db.raw("select 1");
  };
}

/**
 * Redis answers PING, on a connection of the check's own: it fails at once while Redis is
 * down (no offline queue) and reconnects in the background, so the check recovers when
 * Redis is back.
 */
export function redisReady(url: string): { check: ReadinessCheck; close(): void } {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  client.on("error", () => undefined); // the check reports it; the client keeps reconnecting
  return {
    async check() {
      if (client.status === "wait") await client.connect();
      const reply = await client.ping();
      if (reply !== "PONG") throw new Error(`PING answered ${reply}`);
    },
    close: () => client.disconnect(),
  };
}
