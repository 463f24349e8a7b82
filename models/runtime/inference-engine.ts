import type { ModelBundle } from "./bundle.js";
import { createDescriber, type DescriberOptions, type PreparedProduct, type ProductDescription } from "./describer.js";
import { fromWireError, type WireError } from "../../shared/errors/index.js";
import type { SpecChecks } from "./bundle-spec.js";
import { takeInferenceThread } from "./inference-threads.js";
import type { SessionSettings } from "./session-settings.js";

/**
 * Where a worker's batches run through the model. onnxruntime-node's `session.run` executes
 * on the thread that calls it, so inference on the main thread blocks the event loop for the
 * whole of every model call: photo fetches, BullMQ's lock renewal and Postgres replies
 * all wait behind it (in `npm run bench:pipeline` the main thread was busy 98% of the time).
 * The threaded engine gives each inference thread its own sessions; the main thread only
 * fetches, preprocesses with sharp (itself on libuv's pool) and writes.
 */
export interface InferenceEngine {
  /** Batches that can run at once (threads; 1 in process). */
  readonly parallelism: number;
  /** Run the model on prepared products (split by the batch size); results in order. */
  infer(products: readonly PreparedProduct[]): Promise<ProductDescription[]>;
  /** Seconds the engine's threads have spent inside `infer` since it started (summed over threads). */
  busySeconds(): number;
  close(): Promise<void>;
}

export type EngineOptions = Pick<DescriberOptions, "batchSize" | "useCache" | "review">;

/** Inference on the calling thread, with the bundle's own sessions (a CLI, a test, the reference). */
export function inProcessEngine(bundle: ModelBundle, options: EngineOptions = {}): InferenceEngine {
  const describer = createDescriber(bundle, options);
  let busy = 0;
  return {
    parallelism: 1,
    async infer(products) {
      const started = performance.now();
      try {
        return await describer.infer(products);
      } finally {
        busy += performance.now() - started;
      }
    },
    busySeconds: () => busy / 1000,
    async close() {},
  };
}

/** Messages between the engine and an inference thread (see inference-thread-main.ts). */
export type ToThread = { type: "load"; data: ThreadData } | { type: "infer"; id: number; products: readonly PreparedProduct[] };
export type FromThread =
  | { type: "ready" }
  | { type: "result"; id: number; results: ProductDescription[] }
  | { type: "error"; id?: number; error: WireError };

export interface ThreadData {
  dir: string;
  settings: SessionSettings;
  options: EngineOptions;
  checks: SpecChecks;
}

interface Task {
  products: readonly PreparedProduct[];
  resolve(results: ProductDescription[]): void;
  reject(error: Error): void;
}

interface Lane {
  worker: ReturnType<typeof takeInferenceThread>;
  task: (Task & { id: number; started: number }) | undefined;
}

/**
 * Start `threads` inference threads, each loading the bundle in `dir` with `settings` (and
 * validating and warming it up, as `loadBundle` does). Resolves once every thread is ready;
 * rejects with the first thread's load error (a BundleError naming the file for a bundle
 * defect). Batches queue in arrival order and go to the first idle thread. A thread that
 * dies fails its batch (retried by the queue) and is replaced. `checks`: what each thread's
 * load checks again (a caller that has just run `readBundleSpec` on `dir` passes `{ hashes: false }`).
 */
export async function startThreadedEngine(
  dir: string,
  settings: SessionSettings,
  threads: number,
  options: EngineOptions = {},
  checks: SpecChecks = {},
): Promise<InferenceEngine> {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  const queue: Task[] = [];
  const lanes: Lane[] = [];
  let nextId = 0;
  let busy = 0;
  let closed = false;

  function spawn(): Promise<Lane> {
    const worker = takeInferenceThread();
    worker.postMessage({ type: "load", data: { dir, settings, options, checks } } satisfies ToThread);
    const lane: Lane = { worker, task: undefined };
    return new Promise<Lane>((resolve, reject) => {
      let ready = false;
      worker.on("message", (message: FromThread) => {
        if (message.type === "ready") {
          ready = true;
          resolve(lane);
          return;
        }
        if (!ready) {
          reject(fromWireError(message.type === "error" ? message.error : { name: "Error", message: "inference thread sent a result before it was ready" }));
          return;
        }
        const task = lane.task;
        if (!task || message.id !== task.id) return;
        lane.task = undefined;
        busy += performance.now() - task.started;
        if (message.type === "result") task.resolve(message.results);
        else task.reject(fromWireError(message.error));
        pump();
      });
      worker.on("error", (error) => {
        if (!ready) reject(error);
        lane.task?.reject(new Error(`inference thread failed: ${error.message}`, { cause: error }));
        lane.task = undefined;
      });
      worker.on("exit", (code) => {
        const index = lanes.indexOf(lane);
        if (index >= 0) lanes.splice(index, 1);
        if (!ready) reject(new Error(`inference thread exited with code ${code} while loading ${dir}`));
        lane.task?.reject(new Error(`inference thread exited with code ${code}`));
        lane.task = undefined;
        if (!closed && ready) {
          // Keep the engine whole: a replacement loads while the others go on.
          spawn().then(
            (replacement) => {
              lanes.push(replacement);
              pump();
            },
            () => undefined,
          );
        }
      });
    });
  }

  function pump(): void {
    for (const lane of lanes) {
      if (lane.task || queue.length === 0) continue;
      const task = queue.shift() as Task;
      const id = nextId++;
      lane.task = { ...task, id, started: performance.now() };
      lane.worker.postMessage({ type: "infer", id, products: task.products } satisfies ToThread);
    }
  }

  const started = await Promise.allSettled(Array.from({ length: threads }, () => spawn()));
  for (const s of started) if (s.status === "fulfilled") lanes.push(s.value);
  const failure = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failure) {
    closed = true;
    await Promise.all(lanes.map((l) => l.worker.terminate()));
    throw failure.reason;
  }

  return {
    parallelism: threads,
    infer(products) {
      if (closed) return Promise.reject(new Error("inference engine is closed"));
      if (products.length === 0) return Promise.resolve([]);
      return new Promise((resolve, reject) => {
        queue.push({ products, resolve, reject });
        pump();
      });
    },
    busySeconds: () => (busy + lanes.reduce((sum, l) => sum + (l.task ? performance.now() - l.task.started : 0), 0)) / 1000,
    async close() {
      closed = true;
      for (const task of queue.splice(0)) task.reject(new Error("inference engine is closed"));
      await Promise.all(lanes.splice(0).map((l) => l.worker.terminate()));
    },
  };
}
