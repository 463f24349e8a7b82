import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { UnrecoverableError } from "bullmq";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, NotFoundError } from "../../shared/errors/index.js";
import { runRowSchema, type Run } from "../../shared/ledger/run.js";
import type { LedgerContext } from "../../shared/ledger/run-ledger.js";
import { asVersion, folderPut, publish, readDemoBundle } from "../../shared/model-store/demo-store-fixture.js";
import { openObjectStore, type ObjectStore } from "../../shared/storage/object-store.js";
import { resolveVersion } from "../../shared/model-store/model-store.js";
import { createTestDb, type TestDb } from "../../test/helpers/postgres.js";
import { deletePrefix, testConnection, testQueuePrefix, waitFor } from "../../test/helpers/redis.js";
import { createScheduleQueue, listSchedules, removeSchedule, setSchedule, type ScheduleInput, type ScheduleQueue } from "./run-schedules.js";
import { scheduledRunId, type ScheduledRun, type ScheduledRunResult } from "./scheduled-run.js";
import { createScheduledRunProcessor, startScheduleWorker } from "./schedule-worker.js";

let t: TestDb;
let ledger: LedgerContext;
let temp: string;
let models: ObjectStore;
const logger = pino({ level: "silent" });
const resolveModel = (requested: string) => resolveVersion(models, requested);

/** Each test gets its own queue prefix: schedules and fired jobs of one test never meet another's. */
let prefix: string;
let queue: ScheduleQueue;
/** What the test started, stopped after it in reverse order (worker before queue before keys). */
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  t = await createTestDb();
  ledger = t.ledger;
  temp = await mkdtemp(path.join(os.tmpdir(), "facet-schedules-"));
  await publish(folderPut(temp), "", "1.0.0", asVersion(await readDemoBundle(), "1.0.0"));
  models = openObjectStore(pathToFileURL(temp).href, { region: "us-east-1", forcePathStyle: false, access: "bundles" });
});
afterAll(async () => {
  models?.close();
  await rm(temp, { recursive: true, force: true });
  await t?.drop();
});

function freshQueue(): void {
  const mine = testQueuePrefix();
  const q = createScheduleQueue(testConnection(), mine);
  cleanups.push(async () => {
    await q.close();
    await deletePrefix(mine);
  });
  prefix = mine;
  queue = q;
}
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const nightly: ScheduleInput = {
  name: "nightly",
  cron: "0 2 * * *",
  tz: "Europe/Madrid",
  selection: { kind: "changed_since_last_success" },
  modelVersion: "latest",
  mode: "shadow",
  priority: 1000,
};

async function runsOf(schedule: string): Promise<Run[]> {
  const rows: unknown[] = await t.db.withSchema(t.schema).table("runs").where({ schedule_name: schedule }).orderBy("id");
  return rows.map((r) => runRowSchema.parse(r));
}

describe("run schedules (real Redis and Postgres)", () => {
  it("sets, lists, replaces and removes schedules", async () => {
    freshQueue();
    const set = await setSchedule(queue, nightly);
    expect(set.next?.getTime()).toBeGreaterThan(Date.now());
    // 02:00 in Madrid, whatever the season.
    expect(new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Madrid", hour: "2-digit", minute: "2-digit" }).format(set.next as Date)).toBe("02:00");

    await setSchedule(queue, { name: "rings", cron: "30 * * * *", selection: { kind: "category", category: "ring" }, modelVersion: "1.0.0", mode: "apply", priority: 5 });
    const listed = await listSchedules(queue);
    expect(listed.map((s) => s.name).sort()).toEqual(["nightly", "rings"]);
    expect(listed.find((s) => s.name === "nightly")).toMatchObject({
      cron: "0 2 * * *",
      tz: "Europe/Madrid",
      next: set.next,
      template: { schedule: "nightly", modelVersion: "latest", selection: { kind: "changed_since_last_success" }, mode: "shadow", priority: 1000 },
    });
    expect(listed.find((s) => s.name === "rings")).toMatchObject({ tz: undefined, template: { modelVersion: "1.0.0", mode: "apply", priority: 5 } });
    // Soonest first.
    expect(listed.map((s) => s.next?.getTime())).toEqual(listed.map((s) => s.next?.getTime()).sort((a, b) => (a as number) - (b as number)));

    // `set` with an existing name replaces the schedule and its pending fire.
    await setSchedule(queue, { ...nightly, cron: "0 3 * * *", priority: 900 });
    const replaced = await listSchedules(queue);
    expect(replaced).toHaveLength(2);
    expect(replaced.find((s) => s.name === "nightly")).toMatchObject({ cron: "0 3 * * *", template: { priority: 900 } });
    expect((await queue.getJobCounts("delayed")).delayed).toBe(2);

    await removeSchedule(queue, "nightly");
    expect((await listSchedules(queue)).map((s) => s.name)).toEqual(["rings"]);
    await expect(removeSchedule(queue, "nightly")).rejects.toThrow(new NotFoundError("unknown schedule 'nightly'"));
    await expect(removeSchedule(queue, "nightly")).rejects.toThrow(NotFoundError);
    await removeSchedule(queue, "rings");
    expect(await listSchedules(queue)).toEqual([]);
    // Removing a schedule removes its pending fire too.
    expect((await queue.getJobCounts("delayed", "waiting")).delayed).toBe(0);
  });

  it("refuses a bad name, cron, time zone or template, writing nothing", async () => {
    freshQueue();
    const refused: Array<[Partial<ScheduleInput>, RegExp]> = [
      [{ name: "Nightly" }, /schedule name 'Nightly' is invalid/],
      [{ name: "night:ly" }, /schedule name 'night:ly' is invalid/],
      [{ name: "" }, /schedule name '' is invalid/],
      [{ cron: "0 2 * *" }, /cron '0 2 \* \*' must have 5 fields .* got 4/],
      [{ cron: "" }, /cron '' must have 5 fields/],
      [{ cron: "61 2 * * *" }, /cron '61 2 \* \* \*' is invalid: .*0-59/],
      [{ cron: "0 2 30 2 *" }, /cron '0 2 30 2 \*' is invalid/],
      [{ cron: "every night" }, /cron 'every night' must have 5 fields/],
      [{ tz: "Mars/Olympus" }, /time zone 'Mars\/Olympus' is not an IANA time zone/],
      [{ priority: 0 }, /schedule 'nightly': priority: /],
      [{ modelVersion: "" }, /schedule 'nightly': modelVersion: /],
      [{ selection: { kind: "category", category: "" } }, /schedule 'nightly': selection.category: /],
    ];
    for (const [change, message] of refused) {
      const attempt = setSchedule(queue, { ...nightly, ...change } as ScheduleInput);
      await expect(attempt, JSON.stringify(change)).rejects.toBeInstanceOf(ConfigError);
      await expect(attempt, JSON.stringify(change)).rejects.toThrow(message);
    }
    await expect(removeSchedule(queue, "Bad Name")).rejects.toThrow(/schedule name 'Bad Name' is invalid/);
    expect(await queue.getJobSchedulersCount()).toBe(0);
    expect(Object.values(await queue.getJobCounts()).every((n) => n === 0)).toBe(true);
  });

  it("turns a fire into a schedule run with the model resolved then, once however often the fire is delivered", async () => {
    freshQueue();
    const worker = startScheduleWorker({ connection: testConnection(), prefix, ledger, resolveModel, logger });
    cleanups.push(() => worker.stop());
    // Six fields, seconds first: fires every second.
    await setSchedule(queue, { ...nightly, name: "tick", cron: "* * * * * *", tz: undefined });
    await waitFor("a run of schedule tick", async () => (await runsOf("tick")).length > 0, 10_000);
    await removeSchedule(queue, "tick");
    await waitFor("fires in hand finished", async () => {
      const c = await queue.getJobCounts("active", "waiting", "delayed", "prioritized");
      return Object.values(c).every((n) => n === 0);
    });

    const fired = (await queue.getJobs(["completed"])).filter((j) => j !== undefined);
    const runs = await runsOf("tick");
    // One run per fire, named after it.
    expect(runs.map((r) => r.id).sort()).toEqual(fired.map((j) => (j.returnvalue as ScheduledRunResult).runId).sort());
    expect(fired.every((j) => (j.returnvalue as ScheduledRunResult).created)).toBe(true);
    const [run] = runs;
    const [, , fireMs] = (fired.find((j) => (j.returnvalue as ScheduledRunResult).runId === run?.id)?.id as string).split(":");
    expect(run).toMatchObject({
      id: scheduledRunId("tick", Number(fireMs)),
      trigger: "schedule",
      schedule_name: "tick",
      selection: { kind: "changed_since_last_success" },
      model_version: "1.0.0",
      mode: "shadow",
      priority: 1000,
      state: "snapshotting",
    });

    // The same fire delivered again (as after a crash mid-fire): it finds its run, starts none.
    const again = fired.find((j) => (j.returnvalue as ScheduledRunResult).runId === run?.id);
    await again?.retry("completed");
    await waitFor("the redelivered fire processed", async () => {
      const job = await queue.getJob(again?.id as string);
      return (await job?.getState()) === "completed" && (job?.returnvalue as ScheduledRunResult).created === false;
    });
    expect((await queue.getJob(again?.id as string))?.returnvalue).toEqual({ runId: run?.id, modelVersion: "1.0.0", created: false });
    expect((await runsOf("tick")).map((r) => r.id)).toEqual(runs.map((r) => r.id));
  });

  it("creates one run when two deliveries of a fire race, and fails an unknown model version without retries", async () => {
    const processFire = createScheduledRunProcessor({ ledger, resolveModel, logger });
    const data: ScheduledRun = { schedule: "race", modelVersion: "latest", selection: { kind: "all" }, mode: "apply", priority: 7 };
    const job = { id: "repeat:race:1767232800000", data };
    const results = await Promise.all([processFire(job), processFire(job), processFire(job)]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.runId))).toEqual(new Set([scheduledRunId("race", 1767232800000)]));
    expect(await runsOf("race")).toHaveLength(1);

    const pinned = { id: "repeat:pinned:1767232800000", data: { ...data, schedule: "pinned", modelVersion: "9.9.9" } };
    const failure = processFire(pinned);
    await expect(failure).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(failure).rejects.toThrow(/schedule 'pinned': model version: .*"9\.9\.9" is not in .*available: 1\.0\.0/);
    await expect(processFire({ id: "not-a-fire", data })).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(processFire({ id: "repeat:race:1", data: { ...data, mode: "loud" } })).rejects.toThrow(/template.mode/);
    expect(await runsOf("pinned")).toHaveLength(0);
  });
});
