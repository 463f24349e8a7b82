import { ConfigError, ConflictError } from "../shared/errors/index.js";
import { cancelRun, createRun, getRun, requeueLost, selectionMatchesAny, transitionRun, type LedgerContext } from "../shared/ledger/run-ledger.js";
import { describeSelection, type Selection } from "../shared/ledger/selection.js";
import type { RunMode } from "../shared/ledger/run.js";
import { resolveVersion } from "../shared/model-store/model-store.js";
import type { ObjectStore } from "../shared/storage/object-store.js";
import type { Run, RunCounts } from "../shared/ledger/run.js";
import { shiftVerdict } from "../models/runtime/run-shift.js";

export interface StartRun {
  /** A version in the model store, or `latest` (pinned now: the latest when the run starts). */
  model: string;
  selection: Selection;
  mode: RunMode;
  priority: number;
  /** Start even if the selection matches no product. */
  allowEmpty: boolean;
  /** How the caller says "allow empty" (`--allow-empty`, `allow_empty: true`), for the refusal's message. */
  allowEmptyHint: string;
  trigger?: "manual" | "api" | "console";
}

/**
 * Start a run: the version is resolved in the model store first (an unknown one is refused
 * before anything is written) and a selection that matches nothing is refused unless
 * `allowEmpty` (ConfigError naming the selection).
 */
export async function startRun(ctx: LedgerContext, models: ObjectStore, input: StartRun): Promise<Run> {
  const modelVersion = await resolveVersion(models, input.model);
  if (!input.allowEmpty && !(await selectionMatchesAny(ctx, input.selection))) {
    throw new ConfigError(`the selection (${describeSelection(input.selection)}) matches no product; ${input.allowEmptyHint} starts the run anyway`);
  }
  return createRun(ctx, { modelVersion, selection: input.selection, mode: input.mode, priority: input.priority, ...(input.trigger ? { trigger: input.trigger } : {}) });
}

/** What an operator may do to a run, from the CLI or the server. */
export type RunAction = "pause" | "resume" | "cancel";

/**
 * Pause, resume or cancel run `id`. Resume takes a paused run back to where it was (snapshotting
 * or running) and enqueues again whatever Redis lost meanwhile; an unfinished run that is not
 * paused may be resumed too (the same re-enqueue). NotFoundError for an unknown run,
 * ConflictError for an action its state does not allow.
 */
export async function controlRun(ctx: LedgerContext, id: string, action: RunAction): Promise<Run> {
  if (action === "pause") return transitionRun(ctx, id, "paused");
  if (action === "cancel") return cancelRun(ctx, id);
  let run = await getRun(ctx, id);
  if (run.state === "paused") run = await transitionRun(ctx, id, run.snapshot_complete ? "running" : "snapshotting");
  else if (run.state !== "running" && run.state !== "snapshotting") throw new ConflictError(`run ${id} is ${run.state}; only a paused or unfinished run can be resumed`);
  // Whatever Redis holds keeps its job ids; whatever it lost is enqueued again.
  await requeueLost(ctx, id);
  return run;
}

/** A run as `--json` output and the server's API show it. */
export function runJson(run: Run, counts?: RunCounts) {
  return {
    id: run.id,
    state: run.state,
    model_version: run.model_version,
    mode: run.mode,
    priority: run.priority,
    selection: run.selection,
    total: run.total,
    snapshot_complete: run.snapshot_complete,
    created_at: run.created_at,
    started_at: run.started_at,
    finished_at: run.finished_at,
    shift:
      run.shift_baseline === null
        ? null
        : {
            products: run.shift_products,
            unusual: run.shift_unusual,
            baseline: run.shift_baseline,
            verdict: shiftVerdict({ products: run.shift_products, unusual: run.shift_unusual }, run.shift_baseline),
            shifted_at: run.shifted_at,
          },
    ...(counts ? { counts } : {}),
  };
}
