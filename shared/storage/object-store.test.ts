import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermanentError, TransientError } from "../errors/index.js";
import { startS3, type TestS3 } from "../../test/helpers/s3-server.js";
import { openObjectStore } from "./object-store.js";

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
});

describe("folder store", () => {
  it("reads a file, refuses keys escaping the folder, and reports a missing file as permanent", async () => {
    const store = openObjectStore(pathToFileURL(folder).href, s3.settings);
    expect(Buffer.from(await store.get("p1/front.jpg")).toString()).toBe("front-bytes");
    expect((await failure(store.get("../etc/passwd"))).code).toBe("object_key_invalid");
    expect((await failure(store.get("p1/none.jpg"))).code).toBe("object_missing");
  });
});
