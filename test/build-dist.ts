import { execFileSync } from "node:child_process";
import { REPO_ROOT_DIR } from "../shared/repo-root.js";

/**
 * Vitest's global setup: tests spawn the real `facet` command, which runs the compiled dist/
 * (bin/facet.mjs), so dist/ is brought up to date with the sources first (`npm run build`,
 * incremental: about 4 s when nothing changed).
 */
export default function setup(): void {
  execFileSync(process.execPath, [`${REPO_ROOT_DIR}/node_modules/typescript/bin/tsc`, "-p", "tsconfig.build.json"], { cwd: REPO_ROOT_DIR, stdio: "inherit" });
}
