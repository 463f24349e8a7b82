// Entry of an inference thread (see inference-engine.ts). Sources are TypeScript run through
// tsx's loader, as in bin/facet.mjs; a worker thread needs its own registration.
import { register } from "tsx/esm/api";

register();
await import("./inference-thread-main.ts");
