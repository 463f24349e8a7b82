import { execFileSync } from "node:child_process";
import { REPO_ROOT_DIR } from "../shared/repo-root.js";

/**
 * Vitest's global setup: tests spawn the real `facet` command, which runs the compiled and
 * bundled dist/bundle/ (bin/facet.mjs), so it is brought up to date with the sources first, as
 * `npm run build` does: tsc (incremental: about 4 s when nothing changed), then the bundle (about 1 s).
 */
export default function setup(): void {
  const run = (...args: string[]) => execFileSync(process.execPath, args, { cwd: REPO_ROOT_DIR, stdio: "inherit" });
  run(`${REPO_ROOT_DIR}/node_modules/typescript/bin/tsc`, "-p", "tsconfig.build.json");
  run(`${REPO_ROOT_DIR}/bin/bundle.mjs`);
}
