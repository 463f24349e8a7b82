import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** A file the console's pages load, held in memory. */
export interface Asset {
  type: string;
  body: Buffer;
}

/**
 * The console's scripts and styles, read once at start: htmx from its npm package (no CDN: the
 * console works offline) and the console's own files from `static/` beside this module (the
 * build copies the folder beside the bundle, dist/bundle/static/: bin/bundle.mjs). Only these
 * names are served.
 */
export function staticAssets(): Map<string, Asset> {
  const require = createRequire(import.meta.url);
  const own = (name: string) => fileURLToPath(new URL(`./static/${name}`, import.meta.url));
  return new Map<string, Asset>([
    ["htmx.min.js", { type: "text/javascript; charset=utf-8", body: readFileSync(require.resolve("htmx.org/dist/htmx.min.js")) }],
    ["console.js", { type: "text/javascript; charset=utf-8", body: readFileSync(own("console.js")) }],
    ["console.css", { type: "text/css; charset=utf-8", body: readFileSync(own("console.css")) }],
  ]);
}
