import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { getRun, runCounts, type LedgerContext } from "../shared/ledger/run-ledger.js";
import { isFinalState, RateWindow, runProgress, type RunProgress } from "./run-progress.js";

export interface WatchRunOptions {
  /** Time between reads of the ledger, ms. Default 1000: two cheap queries per second. */
  intervalMs?: number;
  /** The rate's sliding window, ms. Default 10,000 (see `RateWindow`). */
  windowMs?: number;
  /** Aborting ends the watch after the current tick (Ctrl-C). */
  signal?: AbortSignal;
  /** Monotonic clock, ms. Default `performance.now` (a wall clock can jump). */
  now?: () => number;
}

/**
 * The progress of a run, one `RunProgress` per interval, read from the ledger, until the run
 * is completed or cancelled (that last figure included) or the signal aborts. An unknown
 * run id throws a ConfigError before anything is yielded.
 */
export async function* watchRun(ledger: LedgerContext, runId: string, options: WatchRunOptions = {}): AsyncGenerator<RunProgress> {
  const intervalMs = options.intervalMs ?? 1000;
  const now = options.now ?? (() => performance.now());
  const rate = new RateWindow(options.windowMs ?? 10_000);
  for (;;) {
    const run = await getRun(ledger, runId);
    const counts = await runCounts(ledger, runId);
    rate.add({ atMs: now(), finished: counts.done + counts.failed + counts.skipped });
    yield runProgress({ id: run.id, state: run.state, total: run.total, snapshotComplete: run.snapshot_complete, counts }, rate.perSecond());
    if (isFinalState(run.state) || options.signal?.aborted) return;
    try {
      await sleep(intervalMs, undefined, options.signal ? { signal: options.signal } : {});
    } catch (error) {
      if (options.signal?.aborted) return;
      throw error;
    }
  }
}
