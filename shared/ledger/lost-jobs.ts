import { z } from "zod";
import type { LedgerContext } from "./run-ledger.js";

/**
 * The ledger's side of healing the queue (producers/PIPELINE.md, "The ledger heals the queue"):
 * which items were handed to Redis and are still unfinished, and what becomes of an item whose
 * job left Redis without the worker recording an outcome.
 */

/** Failures by BullMQ's stall limit an item may cause before it ends `worker_crashed`. */
export const CRASH_LIMIT = 2;
/** Job failures without an outcome an item may have before it ends `job_failed`. */
export const JOB_FAILURE_LIMIT = 3;

export interface HandedItem {
  seq: number;
  productId: string;
  /** Stall-limit failures so far: above 0, its job lives on the suspect queue. */
  crashes: number;
}

const handedRow = z.object({ seq: z.coerce.number().int(), product_id: z.string(), crashes: z.number().int() });
const settledRow = z.object({ seq: z.coerce.number().int(), product_id: z.string(), crashes: z.number().int(), job_failures: z.number().int() });

/** How many items of the run were handed to Redis (seq ≤ enqueued_seq) and are still pending: its share of the backlog. */
export async function countHanded(ctx: LedgerContext, runId: string, enqueuedSeq: number): Promise<number> {
  const row = await ctx.db
    .withSchema(ctx.schema)
    .table("run_items")
    .where({ run_id: runId, state: "pending" })
    .where("seq", "<=", enqueuedSeq)
    .count({ n: "*" })
    .first();
  return Number(row?.n ?? 0);
}

/** The run's handed, still-pending items after `afterSeq`, in seq order (a page of at most `limit`). */
export async function handedItems(ctx: LedgerContext, runId: string, enqueuedSeq: number, afterSeq: number, limit: number): Promise<HandedItem[]> {
  const rows = await ctx.db
    .withSchema(ctx.schema)
    .table("run_items")
    .where({ run_id: runId, state: "pending" })
    .where("seq", ">", afterSeq)
    .where("seq", "<=", enqueuedSeq)
    .orderBy("seq")
    .limit(limit)
    .select("seq", "product_id", "crashes");
  return rows.map((r: unknown) => {
    const row = handedRow.parse(r);
    return { seq: row.seq, productId: row.product_id, crashes: row.crashes };
  });
}

/** Why a job left Redis without an outcome. */
export type JobLoss =
  | { seq: number; kind: "missing" }
  | { seq: number; kind: "crashed" }
  | { seq: number; kind: "failed"; error: string };

export interface SettledLosses {
  /** Items to enqueue again (still pending, under their limits). */
  requeue: HandedItem[];
  /** Items that ended failed here, with their reason. */
  ended: Array<HandedItem & { reason: "worker_crashed" | "job_failed" }>;
}

/**
 * In one transaction: counts each loss against its item (crashes, job failures; a missing job
 * counts nothing), ends the items that reached their limit (`worker_crashed`, `job_failed`), and
 * returns the rest to enqueue again. Items that finished meanwhile are left alone (a worker that
 * completed a job a moment before the check wrote its outcome first).
 */
export async function settleLostJobs(ctx: LedgerContext, runId: string, losses: readonly JobLoss[]): Promise<SettledLosses> {
  if (losses.length === 0) return { requeue: [], ended: [] };
  const bySeq = new Map(losses.map((l) => [l.seq, l]));
  return ctx.db.transaction(async (trx) => {
    const rows = (
      await trx
        .withSchema(ctx.schema)
        .table("run_items")
        .where({ run_id: runId, state: "pending" })
        .whereIn("seq", [...bySeq.keys()])
        .forUpdate()
        .select("seq", "product_id", "crashes", "job_failures")
    ).map((r: unknown) => settledRow.parse(r));
    const settled: SettledLosses = { requeue: [], ended: [] };
    for (const row of rows) {
      const loss = bySeq.get(row.seq) as JobLoss;
      if (loss.kind === "missing") {
        settled.requeue.push({ seq: row.seq, productId: row.product_id, crashes: row.crashes });
        continue;
      }
      const crashes = row.crashes + (loss.kind === "crashed" ? 1 : 0);
      const item = { seq: row.seq, productId: row.product_id, crashes };
      const jobFailures = row.job_failures + (loss.kind === "failed" ? 1 : 0);
      const reason = crashes >= CRASH_LIMIT ? "worker_crashed" : jobFailures >= JOB_FAILURE_LIMIT ? "job_failed" : undefined;
      const detail =
        reason === "worker_crashed"
          ? `its job was failed by the stall limit ${crashes} times: the workers holding it died`
          : loss.kind === "failed"
            ? loss.error
            : null;
      await trx
        .withSchema(ctx.schema)
        .table("run_items")
        .where({ run_id: runId, seq: row.seq, state: "pending" })
        .update({
          crashes,
          job_failures: jobFailures,
          ...(reason ? { state: "failed", reason, detail } : {}),
          updated_at: trx.fn.now(),
        });
      if (reason) settled.ended.push({ ...item, reason });
      else settled.requeue.push(item);
    }
    return settled;
  });
}
