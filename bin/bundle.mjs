// `npm run build`'s last step: bundle tsc's output (dist/) with esbuild into dist/bundle/, which
// bin/facet.mjs runs. A process then reads a few large files instead of resolving, reading and
// (for CommonJS packages imported from ESM) lexing about 1,500 modules one at a time: importing
// `facet worker`'s modules took 0.73 s of CPU unbundled and 0.43 s bundled on the 2-core
// development machine, and a replaced worker spends most of its start there (under load,
// bench:chaos saw 1.7–2.3 s from spawn to the first log line, then 0.2–0.6 s to ready).
//
// Layout: the entries (main.js, inference-thread-main.js) and every shared chunk sit in one
// folder, so the URLs the sources build from `import.meta.url` resolve there as they do beside
// the sources: `./inference-thread-main.js` (models/runtime/inference-threads.ts) is the thread's
// entry, and `./static/` (server/console/static-assets.ts) the console's files, copied here.
// Each command stays its own chunk (code splitting), so `facet run status` loads no model runtime.
import { cpSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

// Paths are the repository's, wherever the build is started from.
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = `${ROOT}dist/bundle`;

// Left to Node's resolver: packages with native addons loaded by path (sharp, onnxruntime-node),
// and drivers that knex and pg require only when configured (none of them installed).
const EXTERNAL = [
  "sharp",
  "onnxruntime-node",
  "pg-native",
  "pg-query-stream",
  "sqlite3",
  "better-sqlite3",
  "mysql",
  "mysql2",
  "mariadb",
  "mariadb/*",
  "oracledb",
  "tedious",
  "@aws-sdk/signature-v4-crt",
];

rmSync(OUT, { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: ["dist/cli/main.js", "dist/models/runtime/inference-thread-main.js"],
  outdir: OUT,
  entryNames: "[name]",
  chunkNames: "chunk-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: EXTERNAL,
  // Class and function names stay as written: logs name errors by their class (err.type).
  keepNames: true,
  sourcemap: "linked",
  logLevel: "warning",
  // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __facetCreateRequire } from "node:module"; const require = __facetCreateRequire(import.meta.url);' },
});
cpSync(`${ROOT}server/console/static`, `${OUT}/static`, { recursive: true });
