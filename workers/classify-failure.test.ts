import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, PermanentError, TransientError } from "../shared/errors/index.js";
import { PhotoError } from "../models/runtime/preprocess.js";
import { classifyFailure, dependencyOf } from "./classify-failure.js";

const early = { attempt: 1, attempts: 6 };
const last = { attempt: 6, attempts: 6 };

/** A pg driver error as pg raises it: an Error with a SQLSTATE `code`. */
function pgError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("classifyFailure", () => {
  it("ends the item at once on a permanent error, with the error's own code", () => {
    const d = classifyFailure(new PermanentError("photo_corrupt", "photo 1: not a JPEG"), early);
    expect(d).toMatchObject({ kind: "fail", reason: "photo_corrupt", detail: "photo 1: not a JPEG" });
  });

  it("names a missing object photo_missing, and counts no dependency error for it", () => {
    const d = classifyFailure(new PermanentError("object_missing", "s3://b/p.jpg does not exist"), early);
    expect(d).toMatchObject({ kind: "fail", reason: "photo_missing", dependency: undefined });
  });

  it("ends the item on NotFoundError and ConflictError (permanent, whatever the attempt)", () => {
    expect(classifyFailure(new NotFoundError("unknown run id 'r'"), early)).toMatchObject({ kind: "fail", reason: "not_found" });
    expect(classifyFailure(new ConflictError("run is completed"), early)).toMatchObject({ kind: "fail", reason: "conflict" });
  });

  it("retries a transient error while attempts remain, throwing it as it is", () => {
    const error = new TransientError("object_throttled", "SlowDown (503)");
    const d = classifyFailure(error, early);
    expect(d).toEqual({ kind: "retry", error, cause: "object_throttled", dependency: "s3" });
  });

  it("ends a transient error on the last attempt as <code>_exhausted", () => {
    const d = classifyFailure(new TransientError("object_timeout", "timed out"), last);
    expect(d).toMatchObject({ kind: "fail", reason: "object_timeout_exhausted", dependency: "s3" });
  });

  it("retries Postgres's own errors unchanged (class and SQLSTATE kept for the log)", () => {
    const error = pgError("57P01", "terminating connection due to administrator command");
    const d = classifyFailure(error, early);
    expect(d).toEqual({ kind: "retry", error, cause: "postgres_error", dependency: "postgres" });
    expect(classifyFailure(new Error("Knex: Timeout acquiring a connection. The pool is probably full."), early)).toMatchObject({
      kind: "retry",
      cause: "postgres_error",
    });
  });

  it("wraps an unexpected error as transient, and ends it as transient_exhausted on the last attempt", () => {
    const d = classifyFailure(new TypeError("x is undefined"), early);
    expect(d.kind).toBe("retry");
    if (d.kind !== "retry") return;
    expect(d.error).toBeInstanceOf(TransientError);
    expect(d.error.message).toBe("x is undefined");
    expect(d.cause).toBe("unexpected");
    expect(classifyFailure(new TypeError("x is undefined"), last)).toMatchObject({ kind: "fail", reason: "transient_exhausted" });
  });

  it("keeps a photo error's own reason (a permanent error for that product only)", () => {
    const d = classifyFailure(new PhotoError("photo_truncated", "premature end of JPEG"), early);
    expect(d).toMatchObject({ kind: "fail", reason: "photo_truncated" });
  });
});

describe("dependencyOf", () => {
  it("tells S3's errors, Postgres's and others apart", () => {
    expect(dependencyOf(new TransientError("object_server_error", "500"))).toBe("s3");
    expect(dependencyOf(new PermanentError("object_key_invalid", "bad key"))).toBeUndefined();
    expect(dependencyOf(pgError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5432"))).toBe("postgres");
    // pg's client after its connection broke (a Postgres restart), as knex rethrows it from a ROLLBACK.
    expect(dependencyOf(new Error("ROLLBACK - Client has encountered a connection error and is not queryable"))).toBe("postgres");
    expect(dependencyOf(new Error("boom"))).toBeUndefined();
  });
});
