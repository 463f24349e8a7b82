import { parentPort } from "node:worker_threads";
import { toWireError } from "../../shared/errors/index.js";
import { loadBundle } from "./bundle.js";
import { createDescriber, type Describer } from "./describer.js";
import type { FromThread, ThreadData, ToThread } from "./inference-engine.js";

/**
 * One inference thread: its own validated, warmed-up sessions; one batch at a time. It imports
 * its modules as it starts (inference-threads.ts starts it early) and loads the bundle the first
 * message names.
 */
const port = parentPort;
if (!port) throw new Error("inference-thread-main must run in a worker thread");
const send = (message: FromThread) => port.postMessage(message);

let describer: Promise<Describer> | undefined;
port.on("message", async (message: ToThread) => {
  if (message.type === "load") {
    if (!describer) {
      describer = load(message.data);
      describer.catch(() => undefined); // reported to the engine by load(); not an unhandled rejection
    }
    return;
  }
  try {
    if (!describer) throw new Error("inference thread: a batch came before its bundle");
    send({ type: "result", id: message.id, results: await (await describer).infer(message.products) });
  } catch (error) {
    send({ type: "error", id: message.id, error: toWireError(error) });
  }
});

async function load({ dir, settings, options, checks }: ThreadData): Promise<Describer> {
  try {
    const loaded = createDescriber(await loadBundle(dir, settings, checks), options);
    send({ type: "ready" });
    return loaded;
  } catch (error) {
    send({ type: "error", error: toWireError(error) });
    throw error;
  }
}
