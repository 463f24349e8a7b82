import { getNextMillis, Queue, type ConnectionOptions, type JobSchedulerJson, type JobSchedulerTemplateOptions } from "bullmq";
import { ConfigError, NotFoundError } from "../../shared/errors/index.js";
import type { RunMode } from "../../shared/ledger/run.js";
import type { Selection } from "../../shared/ledger/selection.js";
import {
  SCHEDULE_NAME, SCHEDULE_NAME_RULE, SCHEDULED_RUN_JOB, SCHEDULES_QUEUE, scheduledRunSchema, type ScheduledRun,
} from "./scheduled-run.js";

/**
 * Scheduled runs: each schedule is a BullMQ job scheduler on the `schedules` queue. Redis
 * holds the schedule (cron, time zone, run template) and fires a job at each tick; the
 * schedule worker hosted by `facet producer` turns each fired job into a run in the ledger.
 * While no producer is up, the due job waits in Redis and runs once when one starts (missed
 * ticks are not replayed one by one: one catch-up run covers them).
 */
export type ScheduleQueue = Queue<ScheduledRun, unknown, string>;

export function createScheduleQueue(connection: ConnectionOptions, prefix: string): ScheduleQueue {
  return new Queue<ScheduledRun, unknown, string>(SCHEDULES_QUEUE, { connection, prefix });
}

export interface ScheduleInput {
  /** The schedule's name; `set` with an existing name replaces that schedule. See SCHEDULE_NAME. */
  name: string;
  /**
   * When it fires: 5 cron fields (minute hour day-of-month month day-of-week), or 6 with
   * seconds first, or a predefined `@daily`-style alias. E.g. `0 2 * * *` is 02:00 every day.
   */
  cron: string;
  /** IANA time zone the cron is read in (`Europe/Madrid`). Default UTC. */
  tz?: string;
  selection: Selection;
  /** `latest` (resolved each time the schedule fires) or a version to pin. */
  modelVersion: string;
  mode: RunMode;
  /** BullMQ priority of the runs it starts: 1 is the most urgent. */
  priority: number;
}

export interface ScheduleInfo {
  name: string;
  cron: string;
  tz: string | undefined;
  /** When it fires next; null when BullMQ has no next fire for it. */
  next: Date | null;
  /** What each fire starts; undefined when the stored template no longer parses (see `problem`). */
  template: ScheduledRun | undefined;
  /** Why the template does not parse (e.g. written by an older Facet); re-`set` the schedule to fix. */
  problem?: string;
}

/**
 * Fired jobs kept in Redis: a short history to answer "did last night's schedule fire, and
 * what became of it", not a record (the ledger's runs are). Failures are kept longer.
 */
const FIRED_JOB_OPTIONS: JobSchedulerTemplateOptions = {
  // Postgres or the model store briefly away: try again over ~10 minutes, with jitter.
  attempts: 6,
  backoff: { type: "exponential", delay: 10_000, jitter: 0.5 },
  removeOnComplete: { count: 20 },
  removeOnFail: { count: 100 },
};

/**
 * Create or replace schedule `input.name`. Everything is checked before Redis is written:
 * a bad name, cron, time zone, template or priority is a ConfigError naming it.
 */
export async function setSchedule(queue: ScheduleQueue, input: ScheduleInput): Promise<ScheduleInfo> {
  const template = checkSchedule(input);
  const job = await queue.upsertJobScheduler(
    input.name,
    { pattern: input.cron, ...(input.tz ? { tz: input.tz } : {}) },
    { name: SCHEDULED_RUN_JOB, data: template, opts: FIRED_JOB_OPTIONS },
  );
  const fire = job.opts.prevMillis;
  return { name: input.name, cron: input.cron, tz: input.tz, next: fire === undefined ? null : new Date(fire), template };
}

/** Every schedule, the next to fire first. */
export async function listSchedules(queue: ScheduleQueue): Promise<ScheduleInfo[]> {
  const schedulers = await queue.getJobSchedulers(0, -1, true);
  return schedulers.map(scheduleInfo);
}

/** Remove schedule `name` and its pending fire. Runs it already started are not touched. */
export async function removeSchedule(queue: ScheduleQueue, name: string): Promise<void> {
  checkName(name);
  if (!(await queue.removeJobScheduler(name))) throw new NotFoundError(`unknown schedule '${name}'`);
}

/** The template a valid input stores; a ConfigError naming the first bad field otherwise. */
export function checkSchedule(input: ScheduleInput): ScheduledRun {
  checkName(input.name);
  if (input.tz !== undefined) checkTimeZone(input.tz);
  checkCron(input.cron, input.tz);
  const parsed = scheduledRunSchema.safeParse({
    schedule: input.name,
    modelVersion: input.modelVersion,
    selection: input.selection,
    mode: input.mode,
    priority: input.priority,
  });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ConfigError(`schedule '${input.name}': ${issue?.path.join(".") || "template"}: ${issue?.message ?? "invalid"}`);
}

function checkName(name: string): void {
  if (!SCHEDULE_NAME.test(name)) throw new ConfigError(`schedule name '${name}' is invalid (${SCHEDULE_NAME_RULE})`);
}

function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
  } catch (cause) {
    throw new ConfigError(`time zone '${tz}' is not an IANA time zone (e.g. Europe/Madrid, UTC)`, { cause });
  }
}

/**
 * Refuse what BullMQ's cron parser would accept but mean something else: it fills in missing
 * fields (`0 2 * *` would silently become "midnight on the 2nd"), and an empty pattern
 * means every minute.
 */
export function checkCron(cron: string, tz?: string): void {
  const fields = cron.trim().split(/\s+/).filter(Boolean);
  const alias = fields.length === 1 && fields[0]?.startsWith("@");
  if (!alias && fields.length !== 5 && fields.length !== 6) {
    throw new ConfigError(
      `cron '${cron}' must have 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got ${fields.length}`,
    );
  }
  let next: number | undefined;
  try {
    next = getNextMillis(Date.now(), { pattern: cron, ...(tz ? { tz } : {}) });
  } catch (cause) {
    throw new ConfigError(`cron '${cron}' is invalid: ${(cause as Error).message}`, { cause });
  }
  if (next === undefined) throw new ConfigError(`cron '${cron}' never fires`);
}

function scheduleInfo(s: JobSchedulerJson<ScheduledRun>): ScheduleInfo {
  const base = { name: s.key, cron: s.pattern ?? `every ${s.every} ms`, tz: s.tz, next: s.next === undefined || Number.isNaN(s.next) ? null : new Date(s.next) };
  const parsed = scheduledRunSchema.safeParse(s.template?.data);
  if (parsed.success) return { ...base, template: parsed.data };
  const issue = parsed.error.issues[0];
  const field = issue?.path.length ? `.${issue.path.join(".")}` : "";
  return { ...base, template: undefined, problem: `template${field}: ${issue?.message ?? "invalid"}` };
}
