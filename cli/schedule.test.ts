import { runFacet } from "../test/helpers/facet-process.js";
import { cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../test/helpers/python.js";
import { deletePrefix, TEST_REDIS_URL, testQueuePrefix } from "../test/helpers/redis.js";

const prefix = testQueuePrefix();
let temp: string;

/** Run the real `facet` command against this test's queue prefix and model store. */
const facet = (...args: string[]) =>
  runFacet(args, { ...process.env, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, MODEL_STORE: pathToFileURL(temp).href, LOG_LEVEL: "silent" });

/** Schedules in Redis under this test's prefix (the scheduler index BullMQ keeps). */
async function storedSchedules(): Promise<string[]> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    return await redis.zrange(`${prefix}:schedules:repeat`, 0, -1);
  } finally {
    redis.disconnect();
  }
}

beforeAll(async () => {
  temp = await mkdtemp(path.join(os.tmpdir(), "facet-cli-schedule-"));
  await cp(path.join(REPO_ROOT, "models/demo"), path.join(temp, "1.0.0"), { recursive: true });
});
afterAll(async () => {
  await deletePrefix(prefix);
  await rm(temp, { recursive: true, force: true });
});

describe("facet schedule", () => {
  it("refuses bad input with exit 2 and one line, writing nothing", async () => {
    const cases = [
      [["set", "nightly", "--cron", "0 2 * *"], "cron '0 2 * *' must have 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got 4"],
      [["set", "nightly", "--cron", "0 2 * * *", "--model", "2.0.0"], `model version "2.0.0" is not in ${pathToFileURL(temp).href} (available: 1.0.0)`],
      [["remove", "nightly", "--json"], "unknown schedule 'nightly'"],
    ] as const;
    // Independent commands: run at once (each start of the CLI costs a second or two).
    const results = await Promise.all(cases.map(([args]) => facet("schedule", ...args)));
    expect(results).toEqual(cases.map(([, line]) => ({ code: 2, stdout: "", stderr: `${line}\n` })));
    expect(await storedSchedules()).toEqual([]);
  });

  it("sets (default: changed since the last successful run, latest model, shadow), lists and removes", async () => {
    const set = await facet("schedule", "set", "nightly", "--cron", "0 2 * * *", "--tz", "Europe/Madrid", "--json");
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      name: "nightly",
      cron: "0 2 * * *",
      tz: "Europe/Madrid",
      model_version: "latest",
      selection: { kind: "changed_since_last_success" },
      mode: "shadow",
      priority: 1000,
    });
    const listed = await facet("schedule", "list", "--json");
    expect(JSON.parse(listed.stdout)).toEqual([JSON.parse(set.stdout)]);
    const removed = await facet("schedule", "remove", "nightly", "--json");
    expect({ code: removed.code, out: JSON.parse(removed.stdout) }).toEqual({ code: 0, out: { removed: "nightly" } });
    expect(await storedSchedules()).toEqual([]);
  });
});
