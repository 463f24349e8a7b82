import { z } from "zod";
import { RUN_MODES } from "../../shared/ledger/run.js";
import { selectionSchema } from "../../shared/ledger/selection.js";

/** The queue whose job schedulers fire scheduled runs (under QUEUE_PREFIX, like `describe`). */
export const SCHEDULES_QUEUE = "schedules";

/** The name of every job a schedule fires. */
export const SCHEDULED_RUN_JOB = "scheduled-run";

/**
 * A schedule's name: it is the BullMQ job scheduler id and part of every run id the schedule
 * creates, so it is kept to characters that are safe in both (BullMQ refuses `:` in ids).
 */
export const SCHEDULE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const SCHEDULE_NAME_RULE = "1-63 of a-z, 0-9, '_', '-', starting with a letter or digit";

/** BullMQ priorities Facet accepts (createRun's rule): 1 is the most urgent. */
export const MAX_RUN_PRIORITY = 2_097_152;

/**
 * What a schedule starts each time it fires: the template of its jobs, stored in Redis with
 * the scheduler and parsed again by the worker (external data).
 */
export const scheduledRunSchema = z.object({
  schedule: z.string().regex(SCHEDULE_NAME, SCHEDULE_NAME_RULE),
  /** `latest` (resolved when the schedule fires) or a pinned version. */
  modelVersion: z.string().min(1).max(200),
  selection: selectionSchema,
  mode: z.enum(RUN_MODES),
  priority: z.number().int().min(1).max(MAX_RUN_PRIORITY),
});
export type ScheduledRun = z.infer<typeof scheduledRunSchema>;

/** What the worker returns for a fire (kept on the completed job, for debugging). */
export interface ScheduledRunResult {
  runId: string;
  modelVersion: string;
  /** False when the run already existed: this fire had been processed before (a redelivery). */
  created: boolean;
}

/**
 * BullMQ names the job of each firing `repeat:<scheduler id>:<fire time, ms>`. That makes a
 * firing identifiable however often its job is delivered.
 */
const FIRED_JOB_ID = /^repeat:([a-z0-9][a-z0-9_-]{0,62}):(\d+)$/;

/** The schedule and fire time of a fired job's id; undefined for any other id. */
export function parseFiredJobId(jobId: string | undefined): { schedule: string; fireMs: number } | undefined {
  const match = jobId === undefined ? null : FIRED_JOB_ID.exec(jobId);
  if (!match) return undefined;
  return { schedule: match[1] as string, fireMs: Number(match[2]) };
}

/**
 * The id of the run one firing creates: `run_<fire time, base36>_<schedule>`. Deterministic,
 * so a redelivered fire collides with the run it already created instead of starting a
 * second one; same shape as `newRunId` (sortable by time).
 */
export function scheduledRunId(schedule: string, fireMs: number): string {
  return `run_${fireMs.toString(36)}_${schedule}`;
}
