import { randomBytes } from "node:crypto";
import { mkdtemp, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermanentError, TransientError } from "../errors/index.js";
import { startS3, type TestS3 } from "../../test/helpers/s3-server.js";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { openObjectStore, openWritableObjectStore, type FolderListing, type ObjectStore, type ObjectStoreSettings } from "./object-store.js";
import { startChaosProxy, startFaultProxy } from "../../test/helpers/fault-proxy.js";

let s3: TestS3;
let folder: string;
/** Several read chunks' worth, so a stream is read in parts. */
const GRAPH = randomBytes(3 << 20);
/** A bundle-like tree, on S3 under `s3://models/bundles/` and in `folder/bundles/`. */
const TREE: Record<string, Uint8Array | string> = {
  "1.0.0/manifest.json": "{}",
  "1.0.0/encoder.onnx": GRAPH,
  "1.1.0/manifest.json": "{}",
  "notes.txt": "not a version",
};

beforeAll(async () => {
  s3 = await startS3();
  await s3.createBucket("photos");
  await s3.put("photos", "shop/p1/front.jpg", "front-bytes");
  await s3.createBucket("models");
  folder = await mkdtemp(path.join(os.tmpdir(), "facet-store-"));
  await mkdir(path.join(folder, "p1"));
  await writeFile(path.join(folder, "p1/front.jpg"), "front-bytes");
  for (const [key, bytes] of Object.entries(TREE)) {
    await s3.put("models", `bundles/${key}`, bytes);
    await mkdir(path.dirname(path.join(folder, "bundles", key)), { recursive: true });
    await writeFile(path.join(folder, "bundles", key), bytes);
  }
});
afterAll(async () => {
  await s3?.close();
  await rm(folder, { recursive: true, force: true });
});

/** The test server's settings for an access pattern, with `overrides` (another endpoint, an idle timeout). */
function settings(access: ObjectStoreSettings["access"], overrides: { endpoint?: string; idleTimeoutMs?: number } = {}): ObjectStoreSettings {
  return { ...s3.settings, ...overrides, access };
}

async function failure(promise: Promise<unknown>) {
  return promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e as PermanentError | TransientError,
  );
}

describe("S3 store, photo GETs (real S3-compatible server over HTTP)", () => {
  it("reads an object under its prefix", async () => {
    const store = openObjectStore("s3://photos/shop", settings("photos"));
    expect(Buffer.from(await store.get("p1/front.jpg")).toString()).toBe("front-bytes");
  });

  it("reports a missing object as permanent", async () => {
    const e = await failure(openObjectStore("s3://photos/shop/", settings("photos")).get("p1/back.jpg"));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.code).toBe("object_missing");
    expect(e.message).toContain("s3://photos/shop/p1/back.jpg");
  });

  it("reports an unreachable server as transient", async () => {
    const e = await failure(openObjectStore("s3://photos", settings("photos", { endpoint: "http://127.0.0.1:9" })).get("x.jpg"));
    expect(e).toBeInstanceOf(TransientError);
  });

  it("signs and reads keys with spaces, reserved characters and non-ASCII names (the photo GET encodes them itself)", async () => {
    const keys = ["p 3/front view.jpg", "p3/a+b=c&d.jpg", "p3/(1)!'*~.jpg", "p3/collar-ñandú-€.jpg", "p3/100%.jpg"];
    const store = openWritableObjectStore("s3://photos/odd names", settings("photos"));
    for (const [i, key] of keys.entries()) await store.put(key, Uint8Array.from([i]));
    for (const [i, key] of keys.entries()) expect([...(await store.get(key))], key).toEqual([i]);
  });

  it("reports a missing bucket on a read as permanent, named", async () => {
    const e = await failure(openObjectStore("s3://no-such-bucket/shop", settings("photos")).get("p1/front.jpg"));
    expect(e).toBeInstanceOf(PermanentError);
    expect([e.code, e.message]).toEqual(["object_missing", "s3://no-such-bucket/shop/p1/front.jpg: no such bucket"]);
  });

  it("maps each S3 answer and network fault of a photo GET to its retry meaning", async () => {
    const answers: Array<[number, string, string, typeof PermanentError | typeof TransientError]> = [
      [503, "SlowDown", "object_throttled", TransientError],
      [500, "InternalError", "object_server_error", TransientError],
      [403, "AccessDenied", "object_forbidden", PermanentError],
      [400, "InvalidRequest", "object_rejected", PermanentError],
    ];
    for (const [status, code, reason, kind] of answers) {
      const proxy = await startFaultProxy(s3.endpoint, { match: "front.jpg", failures: 1, status, code });
      try {
        const store = openObjectStore("s3://photos/shop", settings("photos", { endpoint: proxy.endpoint }));
        const e = await failure(store.get("p1/front.jpg"));
        expect([e.constructor, e.code, e.message]).toEqual([kind, reason, `s3://photos/shop/p1/front.jpg: ${reason === "object_forbidden" ? `access denied (${status})` : `${code} (${status})`}`]);
        // The next request passes the proxy untouched: the same store reads the object.
        expect(Buffer.from(await store.get("p1/front.jpg")).toString()).toBe("front-bytes");
      } finally {
        await proxy.close();
      }
    }
    const chaos = await startChaosProxy(s3.endpoint, { seed: 1, delayMs: 1, stallMs: 2_000 });
    try {
      const store = openObjectStore("s3://photos/shop", settings("photos", { endpoint: chaos.endpoint }));
      chaos.setFaultRate(1); // every request fails, the faults in turn: 503, 500, reset, delay, stall
      const seen = [];
      for (let i = 0; i < 5; i++) {
        seen.push(await store.get("p1/front.jpg", { signal: AbortSignal.timeout(500) }).then((b) => Buffer.from(b).toString(), (e: TransientError) => e.code));
      }
      expect(seen).toEqual(["object_throttled", "object_server_error", "object_unreachable", "front-bytes", "object_timeout"]);
    } finally {
      await chaos.close();
    }
  });
});

describe("S3 store writes (real S3-compatible server over HTTP)", () => {
  it("puts an object under its prefix with its content type, replaces it, and reads it back", async () => {
    const store = openWritableObjectStore("s3://photos/written", settings("photos"));
    await store.put("p2/0.png", Uint8Array.from([1, 2, 3]), "image/png");
    expect([...(await store.get("p2/0.png"))]).toEqual([1, 2, 3]);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: "photos", Key: "written/p2/0.png" }));
    expect(head.ContentType).toBe("image/png");
    await store.put("p2/0.png", Uint8Array.from([4]));
    expect([...(await store.get("p2/0.png"))]).toEqual([4]);
  });

  it("refuses a key escaping the prefix and reports a missing bucket as permanent", async () => {
    const store = openWritableObjectStore("s3://photos/written", settings("photos"));
    expect((await failure(store.put("../x.png", Uint8Array.from([1])))).code).toBe("object_key_invalid");
    const e = await failure(openWritableObjectStore("s3://no-such-bucket", settings("photos")).put("x.png", Uint8Array.from([1])));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.message).toContain("s3://no-such-bucket/x.png");
  });

  it("reports an unreachable server as transient", async () => {
    const store = openWritableObjectStore("s3://photos", settings("photos", { endpoint: "http://127.0.0.1:9" }));
    expect(await failure(store.put("x.png", Uint8Array.from([1])))).toBeInstanceOf(TransientError);
  });
});

describe("folder store", () => {
  it("reads a file, refuses keys escaping the folder, and reports a missing file as permanent", async () => {
    const store = openObjectStore(pathToFileURL(folder).href, settings("photos"));
    expect(Buffer.from(await store.get("p1/front.jpg")).toString()).toBe("front-bytes");
    expect((await failure(store.get("../etc/passwd"))).code).toBe("object_key_invalid");
    expect((await failure(store.get("p1/none.jpg"))).code).toBe("object_missing");
  });
});

describe("folder store writes", () => {
  it("creates folders, replaces atomically (no temp files left), and reads back", async () => {
    const store = openWritableObjectStore(pathToFileURL(path.join(folder, "written")).href, settings("photos"));
    await store.put("p2/a/0.webp", Uint8Array.from([1, 2, 3]), "image/webp");
    expect([...(await store.get("p2/a/0.webp"))]).toEqual([1, 2, 3]);
    await store.put("p2/a/0.webp", Uint8Array.from([4]));
    expect([...(await store.get("p2/a/0.webp"))]).toEqual([4]);
    expect(await readdir(path.join(folder, "written/p2/a"))).toEqual(["0.webp"]);
  });

  it("refuses keys escaping the folder and reports a file standing where a folder must be as permanent", async () => {
    const store = openWritableObjectStore(pathToFileURL(folder).href, settings("photos"));
    expect((await failure(store.put("../x.png", Uint8Array.from([1])))).code).toBe("object_key_invalid");
    const e = await failure(store.put("p1/front.jpg/x.png", Uint8Array.from([1])));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.code).toBe("object_write_refused");
  });
});

/** The bundle-like tree through each kind of store: S3 for either access pattern, and a folder (which has none). */
const TREE_STORES: Array<[string, () => ObjectStore]> = [
  ["S3, photos", () => openObjectStore("s3://models/bundles", settings("photos"))],
  ["S3, bundles", () => openObjectStore("s3://models/bundles/", settings("bundles"))],
  ["folder", () => openObjectStore(pathToFileURL(path.join(folder, "bundles")).href, settings("bundles"))],
];

describe.each(TREE_STORES)("%s store: list, stream and get", (_, open) => {
  let store: ObjectStore;
  beforeAll(() => {
    store = open();
  });
  afterAll(() => store?.close());

  it("names itself without a trailing slash", () => {
    expect(store.url).toMatch(/[^/]$/);
  });

  it("lists a folder's immediate sub-folders and files; a missing folder, or a file, lists as empty", async () => {
    const sorted = (l: FolderListing) => ({ folders: l.folders.sort(), files: l.files.sort() });
    expect(sorted(await store.list(""))).toEqual({ folders: ["1.0.0", "1.1.0"], files: ["notes.txt"] });
    expect(sorted(await store.list("1.0.0/"))).toEqual({ folders: [], files: ["encoder.onnx", "manifest.json"] });
    expect(await store.list("none/")).toEqual({ folders: [], files: [] });
    expect(await store.list("notes.txt/")).toEqual({ folders: [], files: [] });
  });

  it("refuses a folder prefix that is not a relative path ending in '/'", async () => {
    for (const prefix of ["1.0.0", "../", "/1.0.0/", "a//"]) expect((await failure(store.list(prefix))).code, prefix).toBe("object_key_invalid");
  });

  it("streams an object in chunks, and gets it whole", async () => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of await store.stream("1.0.0/encoder.onnx")) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(GRAPH)).toBe(true);
    expect(Buffer.from(await store.get("1.0.0/encoder.onnx")).equals(GRAPH)).toBe(true);
  });

  it("reports a missing object, or a folder read as an object, as permanent on opening a stream as on a get", async () => {
    for (const key of ["1.0.0/none.onnx", "1.0.0"]) {
      for (const e of [await failure(store.stream(key)), await failure(store.get(key))]) {
        expect(e, key).toBeInstanceOf(PermanentError);
        expect(e.code, key).toBe("object_missing");
      }
    }
    expect((await failure(store.stream("../x"))).code).toBe("object_key_invalid");
  });

  it("stops a stream early without an error, and keeps reading", async () => {
    for await (const chunk of await store.stream("1.0.0/encoder.onnx")) {
      expect(chunk.byteLength).toBeGreaterThan(0);
      break;
    }
    expect(Buffer.from(await store.get("notes.txt")).toString()).toBe("not a version");
  });

  it("reports an abort while streaming as transient, and a get whose signal has fired as a timeout", async () => {
    const controller = new AbortController();
    const reading = (async () => {
      for await (const _chunk of await store.stream("1.0.0/encoder.onnx", { signal: controller.signal })) controller.abort();
    })();
    // A folder says `object_timeout`; on S3 the cut connection reads as `object_unreachable`.
    expect(await failure(reading)).toBeInstanceOf(TransientError);
    const g = await failure(store.get("notes.txt", { signal: AbortSignal.abort() }));
    expect([g.constructor, g.code]).toEqual([TransientError, "object_timeout"]);
  });
});

/** An HTTP server that takes requests and never answers them: a stalled S3. */
async function startSilentServer() {
  let requests = 0;
  const server = http.createServer(() => {
    requests++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("S3 access patterns: photos make one attempt, bundles let the SDK retry", () => {
  it("photos: a throttled listing or stream fails at once, for the job's own backoff to retry", async () => {
    const proxy = await startFaultProxy(s3.endpoint, { match: "/models", failures: 2, status: 503 });
    const store = openObjectStore("s3://models/bundles", settings("photos", { endpoint: proxy.endpoint }));
    try {
      expect((await failure(store.list("1.0.0/"))).code).toBe("object_throttled");
      expect((await failure(store.stream("1.0.0/manifest.json"))).code).toBe("object_throttled");
      expect(proxy.injected()).toBe(2);
    } finally {
      store.close();
      await proxy.close();
    }
  });

  it("bundles: the SDK retries a throttled listing or read itself, and it succeeds", async () => {
    const reads: Array<[string, (store: ObjectStore) => Promise<unknown>, unknown]> = [
      ["list-type", async (store) => (await store.list("1.0.0/")).files.sort(), ["encoder.onnx", "manifest.json"]],
      ["encoder.onnx", async (store) => Buffer.from(await store.get("1.0.0/encoder.onnx")).equals(GRAPH), true],
    ];
    for (const [match, read, expected] of reads) {
      const proxy = await startFaultProxy(s3.endpoint, { match, failures: 2, status: 503 });
      const store = openObjectStore("s3://models/bundles", settings("bundles", { endpoint: proxy.endpoint }));
      try {
        expect(await read(store), match).toEqual(expected);
        expect(proxy.injected(), match).toBe(2);
      } finally {
        store.close();
        await proxy.close();
      }
    }
  });

  it("bundles: a request silent past idleTimeoutMs fails as a transient timeout after 3 attempts", async () => {
    const silent = await startSilentServer();
    const store = openObjectStore("s3://models/bundles", settings("bundles", { endpoint: silent.endpoint, idleTimeoutMs: 100 }));
    try {
      const e = await failure(store.get("1.0.0/manifest.json"));
      expect([e.constructor, e.code]).toEqual([TransientError, "object_timeout"]);
      expect(silent.requests()).toBe(3);
    } finally {
      store.close();
      await silent.close();
    }
  });

  it("photos: a silent server fails the one GET at the caller's own timeout", async () => {
    const silent = await startSilentServer();
    const store = openObjectStore("s3://models/bundles", settings("photos", { endpoint: silent.endpoint }));
    try {
      const e = await failure(store.get("1.0.0/manifest.json", { signal: AbortSignal.timeout(100) }));
      expect([e.constructor, e.code]).toEqual([TransientError, "object_timeout"]);
      expect(silent.requests()).toBe(1);
    } finally {
      store.close();
      await silent.close();
    }
  });

  it("refuses a URL that is neither s3:// nor file://", () => {
    expect(() => openObjectStore("/srv/photos", settings("photos"))).toThrow(/unsupported store URL \/srv\/photos/);
  });
});
