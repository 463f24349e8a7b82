import { Writable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { createLogger, repeatLimited } from "./logger.js";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger({ level: "info", role: "test", destination }) };
}

describe("repeatLimited", () => {
  it("logs the first of each kind, counts repeats within the window and reports the count with the next", async () => {
    vi.useFakeTimers({ now: 0, toFake: ["Date"] });
    try {
      const { lines, logger } = capture();
      const log = repeatLimited(logger, 10_000);
      for (let i = 0; i < 5; i++) log("warn", { queue: "q" }, "Missing key for job 1");
      log("error", {}, "another error");
      vi.setSystemTime(10_001);
      log("warn", { queue: "q" }, "Missing key for job 1");
      await new Promise((resolve) => setImmediate(resolve));
      logger.flush();
      await vi.waitFor(() => expect(lines).toHaveLength(3));
      expect(lines.map((l) => [l.msg, l.repeated, l.level])).toEqual([
        ["Missing key for job 1", undefined, 40],
        ["another error", undefined, 50],
        ["Missing key for job 1", 4, 40],
      ]);
    } finally {
      vi.useRealTimers();
    }
  });
});
