import { getRun, type LedgerContext } from "../shared/ledger/run-ledger.js";
import type { Run } from "../shared/ledger/run.js";

/** How long a run's row is trusted before it is read again, ms: a pause or cancel is seen within this. */
export const DEFAULT_RUN_CACHE_MS = 1000;

/**
 * The runs' rows as this worker last read them. Every job needs its run (state, mode, model
 * version), and reading it per job was a quarter of the worker's statements; the read itself
 * is cached, so the jobs that find an entry stale together share one query. A failed read is
 * not kept: the next job reads again.
 */
export interface RunStateCache {
  /** The run, as read at most `ttlMs` ago. */
  get(runId: string): Promise<Run>;
  /** The run as it is now: a new read, or one still in flight (shared with concurrent callers), e.g. to see a resume at once. */
  fresh(runId: string): Promise<Run>;
}

export function createRunStateCache(ledger: LedgerContext, ttlMs = DEFAULT_RUN_CACHE_MS): RunStateCache {
  const entries = new Map<string, { run: Promise<Run>; at: number; settled: boolean }>();

  function read(runId: string): Promise<Run> {
    const entry = { run: getRun(ledger, runId), at: performance.now(), settled: false };
    entries.set(runId, entry);
    entry.run.then(
      () => {
        entry.settled = true;
      },
      () => {
        if (entries.get(runId) === entry) entries.delete(runId);
      },
    );
    return entry.run;
  }

  return {
    get(runId) {
      const cached = entries.get(runId);
      return cached && performance.now() - cached.at < ttlMs ? cached.run : read(runId);
    },
    fresh(runId) {
      const cached = entries.get(runId);
      return cached && !cached.settled ? cached.run : read(runId);
    },
  };
}
