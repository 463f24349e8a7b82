import { spawn } from "node:child_process";
import path from "node:path";
import { REPO_ROOT_DIR as REPO_ROOT } from "../shared/repo-root.js";

/** Debian's python3 with python3-torch and python3-torchvision (FACET_PYTHON overrides it). */
export const PYTHON = process.env.FACET_PYTHON ?? "/usr/bin/python3";

/**
 * Run `python -m facet_train.<module> …args` from the repository root with the terminal passed
 * through (its progress lines are live); resolves with its exit status. A python that cannot
 * start is a one-line error saying what to install.
 */
export function runTrainingModule(module: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-m", `facet_train.${module}`, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, PYTHONPATH: path.join(REPO_ROOT, "models/training") },
      stdio: "inherit",
    });
    child.on("error", (error) => reject(new Error(`cannot start ${PYTHON} (${error.message}): training needs Debian's python3-torch and python3-torchvision, or FACET_PYTHON`)));
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
