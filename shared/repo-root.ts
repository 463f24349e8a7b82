import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The repository's (or the image's /app) root: the nearest folder above this module that holds
 * package.json. The same from the TypeScript sources (tsx, vitest) and from the compiled dist/,
 * where a path relative to a module's own URL would point inside dist/.
 */
export const REPO_ROOT_DIR = rootAbove(path.dirname(fileURLToPath(import.meta.url)));

/** A file or folder of the repository that is not compiled (the demo bundle, labels maps). */
export function repoPath(...parts: string[]): string {
  return path.join(REPO_ROOT_DIR, ...parts);
}

function rootAbove(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, "package.json"))) return d;
    if (path.dirname(d) === d) throw new Error(`no package.json above ${dir}: Facet's files are not where they were installed`);
  }
}
