import { mkdtemp, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermanentError, TransientError } from "../errors/index.js";
import { startS3, type TestS3 } from "../../test/helpers/s3-server.js";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { openObjectStore, openWritableObjectStore } from "./object-store.js";
import { startChaosProxy, startFaultProxy } from "../../test/helpers/fault-proxy.js";

let s3: TestS3;
let folder: string;

beforeAll(async () => {
  s3 = await startS3();
  await s3.createBucket("photos");
  await s3.put("photos", "shop/p1/front.jpg", "front-bytes");
  folder = await mkdtemp(path.join(os.tmpdir(), "facet-store-"));
  await mkdir(path.join(folder, "p1"));
  await writeFile(path.join(folder, "p1/front.jpg"), "front-bytes");
});
afterAll(async () => {
  await s3?.close();
  await rm(folder, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>) {
  return promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e as PermanentError | TransientError,
  );
}

describe("S3 store (real S3-compatible server over HTTP)", () => {
  it("reads an object under its prefix", async () => {
    const store = openObjectStore("s3://photos/shop", s3.settings);
    expect(Buffer.from(await store.get("p1/front.jpg")).toString()).toBe("front-bytes");
  });

  it("reports a missing object as permanent", async () => {
    const e = await failure(openObjectStore("s3://photos/shop/", s3.settings).get("p1/back.jpg"));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.code).toBe("object_missing");
    expect(e.message).toContain("s3://photos/shop/p1/back.jpg");
  });

  it("reports an unreachable server as transient", async () => {
    const e = await failure(openObjectStore("s3://photos", { ...s3.settings, endpoint: "http://127.0.0.1:9" }).get("x.jpg"));
    expect(e).toBeInstanceOf(TransientError);
  });

  it("signs and reads keys with spaces, reserved characters and non-ASCII names (the photo GET encodes them itself)", async () => {
    const keys = ["p 3/front view.jpg", "p3/a+b=c&d.jpg", "p3/(1)!'*~.jpg", "p3/collar-ñandú-€.jpg", "p3/100%.jpg"];
    const store = openWritableObjectStore("s3://photos/odd names", s3.settings);
    for (const [i, key] of keys.entries()) await store.put(key, Uint8Array.from([i]));
    for (const [i, key] of keys.entries()) expect([...(await store.get(key))], key).toEqual([i]);
  });

  it("reports a missing bucket on a read as permanent, named", async () => {
    const e = await failure(openObjectStore("s3://no-such-bucket/shop", s3.settings).get("p1/front.jpg"));
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
        const store = openObjectStore("s3://photos/shop", { ...s3.settings, endpoint: proxy.endpoint });
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
      const store = openObjectStore("s3://photos/shop", { ...s3.settings, endpoint: chaos.endpoint });
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
    const store = openWritableObjectStore("s3://photos/written", s3.settings);
    await store.put("p2/0.png", Uint8Array.from([1, 2, 3]), "image/png");
    expect([...(await store.get("p2/0.png"))]).toEqual([1, 2, 3]);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: "photos", Key: "written/p2/0.png" }));
    expect(head.ContentType).toBe("image/png");
    await store.put("p2/0.png", Uint8Array.from([4]));
    expect([...(await store.get("p2/0.png"))]).toEqual([4]);
  });

  it("refuses a key escaping the prefix and reports a missing bucket as permanent", async () => {
    const store = openWritableObjectStore("s3://photos/written", s3.settings);
    expect((await failure(store.put("../x.png", Uint8Array.from([1])))).code).toBe("object_key_invalid");
    const e = await failure(openWritableObjectStore("s3://no-such-bucket", s3.settings).put("x.png", Uint8Array.from([1])));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.message).toContain("s3://no-such-bucket/x.png");
  });

  it("reports an unreachable server as transient", async () => {
    const store = openWritableObjectStore("s3://photos", { ...s3.settings, endpoint: "http://127.0.0.1:9" });
    expect(await failure(store.put("x.png", Uint8Array.from([1])))).toBeInstanceOf(TransientError);
  });
});

describe("folder store", () => {
  it("reads a file, refuses keys escaping the folder, and reports a missing file as permanent", async () => {
    const store = openObjectStore(pathToFileURL(folder).href, s3.settings);
    expect(Buffer.from(await store.get("p1/front.jpg")).toString()).toBe("front-bytes");
    expect((await failure(store.get("../etc/passwd"))).code).toBe("object_key_invalid");
    expect((await failure(store.get("p1/none.jpg"))).code).toBe("object_missing");
  });
});

describe("folder store writes", () => {
  it("creates folders, replaces atomically (no temp files left), and reads back", async () => {
    const store = openWritableObjectStore(pathToFileURL(path.join(folder, "written")).href, s3.settings);
    await store.put("p2/a/0.webp", Uint8Array.from([1, 2, 3]), "image/webp");
    expect([...(await store.get("p2/a/0.webp"))]).toEqual([1, 2, 3]);
    await store.put("p2/a/0.webp", Uint8Array.from([4]));
    expect([...(await store.get("p2/a/0.webp"))]).toEqual([4]);
    expect(await readdir(path.join(folder, "written/p2/a"))).toEqual(["0.webp"]);
  });

  it("refuses keys escaping the folder and reports a file standing where a folder must be as permanent", async () => {
    const store = openWritableObjectStore(pathToFileURL(folder).href, s3.settings);
    expect((await failure(store.put("../x.png", Uint8Array.from([1])))).code).toBe("object_key_invalid");
    const e = await failure(store.put("p1/front.jpg/x.png", Uint8Array.from([1])));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.code).toBe("object_write_refused");
  });
});
