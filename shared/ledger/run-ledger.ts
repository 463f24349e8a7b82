import { randomBytes } from "node:crypto";
import type { Knex } from "knex";
import { z } from "zod";
import { ConfigError, ConflictError, NotFoundError } from "../errors/index.js";
import { RUN_TRANSITIONS, runRowSchema, type Run, type RunCounts, type RunMode, type RunState } from "./run.js";
import { parseSelection, type Selection } from "./selection.js";

/**
 * The run ledger in Postgres: the source of truth for every run and every product in it.
 * Functions take their dependencies explicitly; nothing here holds a connection.
 */
export interface LedgerContext {
  db: Knex;
  /** Facet's schema (DB_SCHEMA). */
  schema: string;
  /** The catalogue relation (CATALOGUE_RELATION), `[schema.]name`. */
  catalogue: string;
}

export interface NewRun {
  /**
   * The run's id. Default a fresh `newRunId()`. A caller that may create the same run twice
   * (a redelivered schedule fire) passes a deterministic id: the second insert then fails
   * on the primary key instead of starting a duplicate run.
   */
  id?: string;
  modelVersion: string;
  selection: Selection;
  mode: RunMode;
  /** BullMQ priority: 1 is the most urgent; larger numbers wait. Default 100. */
  priority?: number;
  trigger?: "manual" | "schedule" | "api" | "console";
  scheduleName?: string | null;
}

/** `run_<time, base36>_<random>`: sortable by creation, unique without coordination. */
export function newRunId(now = Date.now()): string {
  return `run_${now.toString(36)}_${randomBytes(3).toString("hex")}`;
}

export async function createRun(ctx: LedgerContext, input: NewRun): Promise<Run> {
  const selection = parseSelection(input.selection);
  const priority = input.priority ?? 100;
  if (!Number.isInteger(priority) || priority < 1 || priority > 2_097_152) {
    throw new ConfigError(`priority must be an integer from 1 (most urgent) to 2097152, got ${priority}`);
  }
  const [row] = await ctx.db
    .withSchema(ctx.schema)
    .table("runs")
    .insert({
      id: input.id ?? newRunId(),
      model_version: input.modelVersion,
      selection,
      mode: input.mode,
      priority,
      state: "snapshotting",
      trigger: input.trigger ?? "manual",
      schedule_name: input.scheduleName ?? null,
    })
    .returning("*");
  return runRowSchema.parse(row);
}

/** The run, or undefined when there is none with that id. */
export async function findRun(ctx: LedgerContext, runId: string): Promise<Run | undefined> {
  const row: unknown = await ctx.db.withSchema(ctx.schema).table("runs").where({ id: runId }).first();
  return row === undefined ? undefined : runRowSchema.parse(row);
}

/** The run; a NotFoundError naming the id when there is none. */
export async function getRun(ctx: LedgerContext, runId: string): Promise<Run> {
  const run = await findRun(ctx, runId);
  if (!run) throw new NotFoundError(`unknown run id '${runId}'`);
  return run;
}

/**
 * After Redis lost jobs (a flush, a failover without persistence): hand every unfinished item
 * of the run to the feeder again. Jobs still in Redis keep their ids, so nothing doubles.
 */
export async function requeueLost(ctx: LedgerContext, runId: string): Promise<void> {
  await ctx.db.withSchema(ctx.schema).table("runs").where({ id: runId }).update({ enqueued_seq: 0, updated_at: ctx.db.fn.now() });
}

export async function listRuns(ctx: LedgerContext, options: { states?: RunState[]; limit?: number } = {}): Promise<Run[]> {
  const q = ctx.db.withSchema(ctx.schema).table("runs").orderBy("created_at", "desc").limit(options.limit ?? 50);
  if (options.states) q.whereIn("state", options.states);
  return (await q).map((row: unknown) => runRowSchema.parse(row));
}

/**
 * Move a run to `to` if the move is allowed from its current state (checked inside the
 * update, so two processes can't both win). Returns the updated run; throws ConflictError
 * naming the states when the move is not allowed.
 */
export async function transitionRun(ctx: LedgerContext, runId: string, to: RunState): Promise<Run> {
  const from = (Object.keys(RUN_TRANSITIONS) as RunState[]).filter((s) => RUN_TRANSITIONS[s].includes(to));
  const now = ctx.db.fn.now();
  const [row] = await ctx.db
    .withSchema(ctx.schema)
    .table("runs")
    .where({ id: runId })
    .whereIn("state", from)
    .update({
      state: to,
      updated_at: now,
      ...(to === "running" ? { started_at: ctx.db.raw("coalesce(started_at, now())") } : {}),
      ...(to === "completed" || to === "cancelled" ? { finished_at: now } : {}),
    })
    .returning("*");
  if (row) return runRowSchema.parse(row);
  const run = await getRun(ctx, runId);
  throw new ConflictError(`run ${runId} is ${run.state}; it cannot become ${to}`);
}

/**
 * Snapshot the next chunk of the run's selection into run_items (one transaction), in
 * product id order after `snapshot_cursor`. One INSERT … SELECT inside Postgres: no product id
 * travels to Node, so a chunk costs the rows it writes. Values are bound parameters, never SQL
 * text. Returns how many products were added; 0 means the snapshot is complete.
 */
export async function snapshotChunk(ctx: LedgerContext, run: Run, chunk = 50_000): Promise<number> {
  return ctx.db.transaction(async (trx) => {
    const current = runRowSchema.parse(await trx.withSchema(ctx.schema).table("runs").where({ id: run.id }).forUpdate().first());
    if (current.snapshot_complete) return 0;
    const chosen = selectionQuery(trx, ctx, current.selection, current.id)
      .select("product_id")
      .modify((q) => (current.snapshot_cursor !== null ? q.where("product_id", ">", current.snapshot_cursor) : q))
      .orderBy("product_id")
      .limit(chunk);
    const result = await trx.raw(
      `with chosen as (?),
       numbered as (select ?::text as run_id, ?::bigint + row_number() over (order by product_id) as seq, product_id from chosen),
       inserted as (insert into ??.run_items (run_id, seq, product_id) select run_id, seq, product_id from numbered on conflict (run_id, product_id) do nothing)
       select count(*)::int as n, max(product_id) as last from numbered`,
      [chosen, current.id, current.total, ctx.schema],
    );
    const { n, last } = z.object({ n: z.number().int(), last: z.string().nullable() }).parse(result.rows[0]);
    await trx
      .withSchema(ctx.schema)
      .table("runs")
      .where({ id: run.id })
      .update({
        total: current.total + n,
        ...(last !== null ? { snapshot_cursor: last } : {}),
        snapshot_complete: n < chunk,
        updated_at: trx.fn.now(),
      });
    return n;
  });
}

/** Pending items a cancel skips at once; the producer skips the rest in chunks (skipCancelledItems). */
const CANCEL_CHUNK = 20_000;

/**
 * Cancel a run: its state, and the first pending items `skipped (run_cancelled)`, in one
 * transaction. A large run's remaining pending items are skipped by the producer a chunk at a
 * time (skipCancelledItems), so cancelling a 1,000,000-product run returns at once; workers skip
 * the cancelled run's jobs meanwhile.
 */
export async function cancelRun(ctx: LedgerContext, runId: string): Promise<Run> {
  return ctx.db.transaction(async (trx) => {
    const run = await transitionRun({ ...ctx, db: trx }, runId, "cancelled");
    await skipPending(trx, ctx, runId, CANCEL_CHUNK);
    return run;
  });
}

/** Cancelled runs that still have pending items, and for each a chunk of them skipped. Returns how many were skipped. */
export async function skipCancelledItems(ctx: LedgerContext, limit = CANCEL_CHUNK): Promise<number> {
  const runs: Array<{ id: string }> = await ctx.db
    .withSchema(ctx.schema)
    .table("runs")
    .where({ state: "cancelled" })
    .whereExists(ctx.db.withSchema(ctx.schema).table("run_items").whereRaw("run_items.run_id = runs.id").where({ state: "pending" }).select(ctx.db.raw("1")))
    .limit(10)
    .select("id");
  let skipped = 0;
  for (const { id } of runs) skipped += await skipPending(ctx.db, ctx, id, limit);
  return skipped;
}

async function skipPending(db: Knex | Knex.Transaction, ctx: LedgerContext, runId: string, limit: number): Promise<number> {
  // A seq range, not `seq in (subquery)`: on a table the planner has no statistics for yet (a
  // run just snapshotted) the subquery became a nested loop, 84 s for 20,000 rows.
  const pending = () => db.withSchema(ctx.schema).table("run_items").where({ run_id: runId, state: "pending" });
  const last = await pending().orderBy("seq").offset(limit - 1).first("seq");
  return pending()
    .modify((q) => (last ? q.where("seq", "<=", last.seq) : q))
    .update({ state: "skipped", reason: "run_cancelled", updated_at: db.fn.now() });
}

/** Whether any catalogue product matches `selection` now (a run about to start: nothing else to compare with). */
export async function selectionMatchesAny(ctx: LedgerContext, selection: Selection): Promise<boolean> {
  const row = await selectionQuery(ctx.db, ctx, parseSelection(selection), "").first(ctx.db.raw("1 as found"));
  return row !== undefined;
}

/** The catalogue rows a selection chooses for run `runId` (a query builder over the catalogue relation). */
function selectionQuery(db: Knex | Knex.Transaction, ctx: LedgerContext, s: Selection, runId: string): Knex.QueryBuilder {
  const q = db.from(ctx.catalogue);
  switch (s.kind) {
    case "all":
      return q;
    case "category":
      return q.where("category", s.category);
    case "updated_since":
      return q.where("updated_at", ">=", s.since);
    case "ids":
      return q.whereRaw("product_id = any(?::text[])", [s.ids]);
    case "changed_since_last_success":
      // Changed since the last completed run started (its snapshot's moment): nothing changed
      // during that run is missed. All products when no run has completed yet.
      return q.whereRaw(
        `updated_at >= coalesce((select max(started_at) from ??.runs where state = 'completed' and id <> ?), '-infinity'::timestamptz)`,
        [ctx.schema, runId],
      );
  }
}

export async function runCounts(ctx: LedgerContext, runId: string): Promise<RunCounts> {
  const rows = await ctx.db.withSchema(ctx.schema).table("run_items").where({ run_id: runId }).select("state").count({ n: "*" }).groupBy("state");
  const counts: RunCounts = { total: 0, pending: 0, done: 0, failed: 0, skipped: 0 };
  for (const r of rows as Array<{ state: keyof RunCounts; n: string | number }>) {
    counts[r.state] = Number(r.n);
    counts.total += Number(r.n);
  }
  return counts;
}

/** Pending items after `afterSeq`, in order: what the producer enqueues next. */
export async function pendingItemsAfter(ctx: LedgerContext, runId: string, afterSeq: number, limit: number) {
  const rows = await ctx.db
    .withSchema(ctx.schema)
    .table("run_items")
    .where({ run_id: runId, state: "pending" })
    .where("seq", ">", afterSeq)
    .orderBy("seq")
    .limit(limit)
    .select("seq", "product_id");
  return rows.map((r: { seq: string | number; product_id: string }) => ({ seq: Number(r.seq), productId: r.product_id }));
}

/** Record how far the producer has enqueued (never moves backwards). */
export async function markEnqueued(ctx: LedgerContext, runId: string, seq: number): Promise<void> {
  await ctx.db
    .withSchema(ctx.schema)
    .table("runs")
    .where({ id: runId })
    .update({ enqueued_seq: ctx.db.raw("greatest(enqueued_seq, ?)", [seq]), updated_at: ctx.db.fn.now() });
}

/**
 * A worker hands back an item of a paused run: it stays pending, and the producer's cursor moves
 * back before it, so the item is enqueued again when the run resumes (whenever that happens).
 */
export async function handBackPausedItem(ctx: LedgerContext, runId: string, seq: number): Promise<void> {
  await ctx.db
    .withSchema(ctx.schema)
    .table("runs")
    .where({ id: runId })
    .update({ enqueued_seq: ctx.db.raw("least(enqueued_seq, ?)", [seq - 1]) });
}

/** Complete the run if its snapshot is whole and no item is pending. Returns whether it did. */
export async function completeIfFinished(ctx: LedgerContext, runId: string): Promise<boolean> {
  const updated = await ctx.db
    .withSchema(ctx.schema)
    .table("runs")
    .where({ id: runId, state: "running", snapshot_complete: true })
    .whereNotExists(ctx.db.withSchema(ctx.schema).table("run_items").where({ run_id: runId, state: "pending" }).select(ctx.db.raw("1")))
    .update({ state: "completed", finished_at: ctx.db.fn.now(), updated_at: ctx.db.fn.now() });
  return updated > 0;
}
