import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "./python.js";

/** A `facet <command>` child process (the real CLI), with its output kept for failure messages. */
export interface FacetProcess {
  proc: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

export function spawnFacet(args: string[], env: Record<string, string>): FacetProcess {
  const proc = spawn(process.execPath, [path.join(REPO_ROOT, "bin/facet.mjs"), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout?.on("data", (d) => (out += d));
  proc.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => proc.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  return { proc, output: () => out, exited };
}
