import { z } from "zod";
import type { LedgerContext } from "./run-ledger.js";
import { RUN_MODES, RUN_STATES, type RunMode, type RunState } from "./run.js";

/** A run as the producer's metrics label it. */
export interface RunLabel {
  id: string;
  modelVersion: string;
  mode: RunMode;
  state: RunState;
}

const labelRowSchema = z.object({ id: z.string(), model_version: z.string(), mode: z.enum(RUN_MODES), state: z.enum(RUN_STATES) });
const stateCountSchema = z.object({ state: z.enum(RUN_STATES), n: z.coerce.number().int() });

/** Runs not finished, and those finished in the last `recentHours` (their final figures stay on the dashboards a while). */
export async function activeAndRecentRuns(ctx: LedgerContext, recentHours = 24): Promise<RunLabel[]> {
  const rows: unknown[] = await ctx.db
    .withSchema(ctx.schema)
    .table("runs")
    .whereIn("state", ["snapshotting", "running", "paused"])
    .orWhere((q) => q.whereIn("state", ["completed", "cancelled"]).where("updated_at", ">", ctx.db.raw("now() - make_interval(hours => ?)", [recentHours])))
    .select("id", "model_version", "mode", "state");
  return rows.map((row) => {
    const r = labelRowSchema.parse(row);
    return { id: r.id, modelVersion: r.model_version, mode: r.mode, state: r.state };
  });
}

/** How many runs are in each state (states with none are absent). */
export async function runsByState(ctx: LedgerContext): Promise<Partial<Record<RunState, number>>> {
  const rows: unknown[] = await ctx.db.withSchema(ctx.schema).table("runs").select("state").count({ n: "*" }).groupBy("state");
  return Object.fromEntries(rows.map((row) => stateCountSchema.parse(row)).map((r) => [r.state, r.n]));
}
