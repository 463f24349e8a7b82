import { execFile, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Debian's python3 carries python3-torch; a pyenv or venv python earlier on PATH usually does not. */
export const PYTHON = process.env.FACET_PYTHON ?? "/usr/bin/python3";

/** Why Python training can't run here, or undefined when it can. */
export function pythonTorchMissing(): string | undefined {
  const probe = spawnSync(PYTHON, ["-c", "import torch, torchvision, numpy"], { encoding: "utf8" });
  if (probe.status === 0) return undefined;
  return `${PYTHON} cannot import torch and torchvision (install Debian's python3-torch and python3-torchvision with apt-get; .ci/run does)`;
}

/** Run `python -m facet_train.<module> …args` from the repo root; rejects with its stderr on failure. */
export async function runTrainingModule(module: string, args: string[], env: Record<string, string> = {}) {
  const { stdout, stderr } = await promisify(execFile)(PYTHON, ["-m", `facet_train.${module}`, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, PYTHONPATH: path.join(REPO_ROOT, "models/training"), ...env },
    maxBuffer: 256 * 1024 * 1024,
  });
  return { stdout, stderr };
}
