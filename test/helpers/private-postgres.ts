import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { promisify } from "node:util";
import { freePort } from "./redis-server.js";

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of the test's own (Debian's pg_createcluster, trust auth, fsync off), so a
 * test may restart or stop it without touching the machine's shared server that other tests use.
 */
export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  /** `pg_ctlcluster restart -m fast`: every connection is cut; the server is back on the same port. */
  restart(): Promise<void>;
  /** Stops and removes the cluster and its data. */
  drop(): Promise<void>;
}

/** Why a private cluster cannot be made here (no postgresql-common, not root), or undefined when it can. */
export function privatePostgresUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "a private PostgreSQL cluster needs root (pg_createcluster)";
  try {
    if (readdirSync("/etc/postgresql").length === 0) return "no PostgreSQL installed under /etc/postgresql";
  } catch {
    return "no PostgreSQL installed under /etc/postgresql (postgresql-common)";
  }
  return undefined;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const version = readdirSync("/etc/postgresql").sort().at(-1) as string;
  const name = `facet_${randomBytes(4).toString("hex")}`;
  const port = await freePort();
  await run("pg_createcluster", [version, name, "-p", String(port), "-o", "fsync=off", "-o", "synchronous_commit=off", "-o", "full_page_writes=off", "--start", "--", "--auth=trust"]);
  const ctl = (...args: string[]) => run("pg_ctlcluster", ["--skip-systemctl-redirect", version, name, ...args]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async restart() {
      await ctl("restart", "-m", "fast");
    },
    async drop() {
      await run("pg_dropcluster", ["--stop", version, name]);
    },
  };
}
