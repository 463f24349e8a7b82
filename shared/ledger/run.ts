import { z } from "zod";
import { selectionSchema } from "./selection.js";

export const RUN_STATES = ["snapshotting", "running", "paused", "cancelled", "completed"] as const;
export type RunState = (typeof RUN_STATES)[number];
export const RUN_MODES = ["shadow", "apply"] as const;
export type RunMode = (typeof RUN_MODES)[number];
export const ITEM_STATES = ["pending", "done", "failed", "skipped"] as const;
export type ItemState = (typeof ITEM_STATES)[number];

/** A `runs` row, parsed: rows are external data and get checked like any other. */
export const runRowSchema = z.object({
  id: z.string(),
  model_version: z.string(),
  selection: selectionSchema,
  mode: z.enum(RUN_MODES),
  priority: z.number().int(),
  state: z.enum(RUN_STATES),
  trigger: z.string(),
  schedule_name: z.string().nullable(),
  total: z.number().int(),
  snapshot_complete: z.boolean(),
  snapshot_cursor: z.string().nullable(),
  enqueued_seq: z.coerce.number().int(),
  created_at: z.date(),
  started_at: z.date().nullable(),
  finished_at: z.date().nullable(),
  updated_at: z.date(),
  /** The run-level shift gate (shared/ledger/run-shift.ts): results with a signal, the unusual ones, the bundle's baseline (null: no gate). */
  shift_products: z.coerce.number().int(),
  shift_unusual: z.coerce.number().int(),
  shift_baseline: z.number().nullable(),
  shifted_at: z.date().nullable(),
});
export type Run = z.infer<typeof runRowSchema>;

/** Items of a run by outcome. `pending` items are not finished yet (queued or not). */
export interface RunCounts {
  total: number;
  pending: number;
  done: number;
  failed: number;
  skipped: number;
}

/** Which state changes a person or the system may make. */
export const RUN_TRANSITIONS: Record<RunState, readonly RunState[]> = {
  snapshotting: ["running", "paused", "cancelled"],
  running: ["paused", "cancelled", "completed"],
  paused: ["running", "snapshotting", "cancelled"],
  cancelled: [],
  completed: [],
};
