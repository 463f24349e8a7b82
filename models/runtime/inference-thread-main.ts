import { parentPort, workerData } from "node:worker_threads";
import { loadBundle } from "./bundle.js";
import { createDescriber } from "./describer.js";
import type { FromThread, ThreadData, ToThread } from "./inference-engine.js";

/** One inference thread: its own validated, warmed-up sessions; one batch at a time. */
const port = parentPort;
if (!port) throw new Error("inference-thread-main must run in a worker thread");
const { dir, settings, options } = workerData as ThreadData;
const send = (message: FromThread) => port.postMessage(message);
const describe = (error: unknown) => ({
  name: error instanceof Error ? error.name : "Error",
  message: error instanceof Error ? error.message : String(error),
  ...(typeof (error as { code?: unknown })?.code === "string" ? { code: (error as { code: string }).code } : {}),
});

try {
  const describer = createDescriber(await loadBundle(dir, settings), options);
  port.on("message", async (message: ToThread) => {
    try {
      send({ type: "result", id: message.id, results: await describer.infer(message.products) });
    } catch (error) {
      send({ type: "error", id: message.id, error: describe(error) });
    }
  });
  send({ type: "ready" });
} catch (error) {
  send({ type: "error", error: describe(error) });
}
