import { Worker } from "node:worker_threads";

/**
 * The threads inference runs on (inference-engine.ts), started before they are needed: a
 * thread spends about 0.3 s importing onnxruntime and the runtime's modules, which `facet worker`
 * overlaps with its own imports by starting them first (cli/main.ts). A started thread waits,
 * without keeping the process alive, for the bundle to load (`{ type: "load" }`).
 * This module imports nothing else, so starting threads costs the caller nothing.
 */

/** Default INFERENCE_THREADS (shared/config/config.ts says why). */
export const DEFAULT_INFERENCE_THREADS = 2;

/**
 * A thread's entry: the compiled module beside this one (in dist/, and in dist/bundle/, where
 * bin/bundle.mjs emits the thread's own entry under this name beside the chunk holding this
 * code); from the TypeScript sources (tsx, vitest), a stub that registers tsx in the thread
 * first (a thread has its own loaders).
 */
const THREAD_ENTRY = import.meta.url.endsWith(".ts") ? new URL("./inference-thread.mjs", import.meta.url) : new URL("./inference-thread-main.js", import.meta.url);

const started: Worker[] = [];

/** Start `count` threads now (their imports begin at once), for `takeInferenceThread` later. */
export function prestartInferenceThreads(count: number): void {
  for (let i = 0; i < count; i++) {
    const worker = new Worker(THREAD_ENTRY);
    worker.unref();
    // One that fails before it is taken is dropped; a new one would report the same error when taken.
    worker.once("exit", () => {
      const index = started.indexOf(worker);
      if (index >= 0) started.splice(index, 1);
    });
    worker.on("error", () => undefined);
    started.push(worker);
  }
}

/** A started thread if one is waiting, else a new one; it keeps the process alive from now on. */
export function takeInferenceThread(): Worker {
  const worker = started.shift() ?? new Worker(THREAD_ENTRY);
  worker.ref();
  return worker;
}
