#!/usr/bin/env -S node --max-semi-space-size=64
// The `facet` command: the compiled JavaScript, bundled, in dist/bundle/ (`npm run build`, see
// bin/bundle.mjs; `npm test` builds it first, and so does the Docker image). During development,
// `npm run facet -- …` runs the TypeScript sources through tsx instead.
// --max-semi-space-size=64 (MB): a worker allocates short-lived objects for every photo (the
// S3 client's requests above all), and V8's default young generation made it collect them
// so often that `npm run bench:pipeline` measured about 2.5 ms more CPU per product (22.5
// vs 19.5 ms). It costs up to about 200 MB more memory at most. The Dockerfile passes the
// same flag; run `node --max-semi-space-size=64 bin/facet.mjs …` when not using this file
// directly.
import { existsSync } from "node:fs";

const main = new URL("../dist/bundle/main.js", import.meta.url);
if (!existsSync(main)) {
  console.error("facet: dist/bundle/main.js is missing: run `npm run build` first (or `npm run facet -- …` to run the TypeScript sources)");
  process.exit(2);
}
await import(main.href);
