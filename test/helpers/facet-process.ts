import { execFile, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
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

/** Run the real `facet` command to its end; resolves with its exit code and output whatever the code. */
export async function runFacet(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, "bin/facet.mjs"), ...args], { cwd: REPO_ROOT, env, maxBuffer: 256 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const error = e as { code: number | string | null; signal: string | null; stdout: string; stderr: string; message: string };
    if (typeof error.code !== "number") throw new Error(`facet ${args[0]} did not exit by itself (${error.signal ?? error.code}); stderr: ${error.stderr.slice(-2000)}`);
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}
