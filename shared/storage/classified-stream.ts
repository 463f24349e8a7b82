import type { Readable } from "node:stream";

/** The chunks of `stream`, with any error thrown while reading mapped by `classify`. */
export async function* classified(stream: Readable, classify: (cause: unknown) => Error): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } catch (cause) {
    throw classify(cause);
  } finally {
    // Stopping early (a size or hash mismatch) must not leave the socket or file open.
    stream.destroy();
  }
}
