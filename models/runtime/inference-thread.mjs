// Entry of an inference thread when Facet runs from its TypeScript sources (tsx, vitest; see
// inference-engine.ts): a worker thread needs its own registration of tsx's loader. The compiled
// build (dist/bundle/) starts its bundled inference-thread-main.js directly.
import { register } from "tsx/esm/api";

register();
await import("./inference-thread-main.ts");
