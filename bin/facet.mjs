#!/usr/bin/env -S node --max-semi-space-size=64
// The `facet` command. Sources are TypeScript run through tsx's loader, so there is no
// build step between a checkout and a working CLI.
// --max-semi-space-size=64 (MB): a worker allocates short-lived objects for every photo (the
// S3 client's requests above all), and V8's default young generation made it collect them
// so often that `npm run bench:pipeline` measured about 2.5 ms more CPU per product (22.5
// vs 19.5 ms). It costs up to about 200 MB more memory at most. The Dockerfile passes the
// same flag; run `node --max-semi-space-size=64 bin/facet.mjs …` when not using this file
// directly.
import { register } from "tsx/esm/api";

register();
await import("../cli/main.ts");
