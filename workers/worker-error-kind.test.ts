import { describe, expect, it } from "vitest";
import { workerErrorKind } from "./describe-worker.js";

describe("workerErrorKind (how a BullMQ worker's error event is logged)", () => {
  it("logs jobs vanished in a Redis flush at warn, under one key whatever the job", () => {
    const a = workerErrorKind("Missing key for job run_1.5. moveToFinished");
    const b = workerErrorKind("Missing lock for job run_1.6. moveToFinished");
    expect(a.level).toBe("warn");
    expect(a.key).toBe("vanished");
    expect(b.key).toBe(a.key);
  });

  it("logs a lock that could not be renewed at warn, one key for every job", () => {
    const a = workerErrorKind("could not renew lock for job run_mx7x1q3v_691e39.1141");
    expect(a).toMatchObject({ level: "warn", key: "lock_lost" });
    expect(workerErrorKind("could not renew lock for job run_x.9").key).toBe(a.key);
  });

  it("logs anything else at error, rate-limited by its message without the job id", () => {
    const a = workerErrorKind("Unexpected reply for job run_1.5 from Redis");
    expect(a.level).toBe("error");
    expect(workerErrorKind("Unexpected reply for job run_2.77 from Redis").key).toBe(a.key);
    expect(workerErrorKind("Connection is closed.").key).toBe("Connection is closed.");
  });
});
