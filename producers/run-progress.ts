import type { RunCounts, RunState } from "../shared/ledger/run.js";

/**
 * The figures `facet run watch` shows, computed without I/O: a rate over a sliding window,
 * the ETA it gives, the progress bar and the line or JSON object of one tick.
 */

/** How many items finished at a moment (a monotonic clock, ms). */
export interface ProgressSample {
  atMs: number;
  finished: number;
}

/**
 * Items per second over the last `windowMs` (default 10 s): recent enough to follow a run
 * that speeds up or stalls (workers added, a pause), long enough to smooth the steps of
 * batched writes. The oldest sample kept is the last one at or before the window's start,
 * so the rate always spans about a full window once there is one.
 */
export class RateWindow {
  private readonly samples: ProgressSample[] = [];

  constructor(private readonly windowMs = 10_000) {
    if (!(windowMs > 0)) throw new RangeError(`RateWindow: windowMs must be positive, got ${windowMs}`);
  }

  add(sample: ProgressSample): void {
    const last = this.samples.at(-1);
    if (last && sample.atMs < last.atMs) throw new RangeError(`RateWindow: samples must come in time order (${sample.atMs} < ${last.atMs})`);
    this.samples.push(sample);
    const start = sample.atMs - this.windowMs;
    while (this.samples.length > 2 && (this.samples[1] as ProgressSample).atMs <= start) this.samples.shift();
  }

  /** Items per second, or null until two samples some time apart exist. Never negative. */
  perSecond(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.atMs <= first.atMs) return null;
    return (Math.max(0, last.finished - first.finished) * 1000) / (last.atMs - first.atMs);
  }
}

/** What the watcher reads from the ledger each tick. */
export interface RunSnapshot {
  id: string;
  state: RunState;
  /** runs.total: grows while the run is snapshotting. */
  total: number;
  snapshotComplete: boolean;
  counts: Pick<RunCounts, "pending" | "done" | "failed" | "skipped">;
}

/** One tick of `facet run watch`: also its `--json` line (snake_case, like `facet run status --json`). */
export interface RunProgress {
  id: string;
  state: RunState;
  total: number;
  snapshot_complete: boolean;
  finished: number;
  done: number;
  failed: number;
  skipped: number;
  pending: number;
  /** finished / total, 0–100 (100 for an empty completed run). */
  percent: number;
  /** Items finished per second over the sliding window; null until known. */
  rate_per_s: number | null;
  /** Seconds left at the current rate; 0 once completed; null while unknown (no rate, paused, cancelled). */
  eta_s: number | null;
}

/** States after which nothing changes: the watcher stops. */
export function isFinalState(state: RunState): boolean {
  return state === "completed" || state === "cancelled";
}

export function runProgress(snapshot: RunSnapshot, ratePerSecond: number | null): RunProgress {
  const { done, failed, skipped, pending } = snapshot.counts;
  const finished = done + failed + skipped;
  const total = Math.max(snapshot.total, finished);
  const percent = total > 0 ? (100 * finished) / total : snapshot.state === "completed" ? 100 : 0;
  return {
    id: snapshot.id,
    state: snapshot.state,
    total: snapshot.total,
    snapshot_complete: snapshot.snapshotComplete,
    finished,
    done,
    failed,
    skipped,
    pending,
    percent: round(percent, 1),
    rate_per_s: ratePerSecond === null ? null : round(ratePerSecond, 2),
    eta_s: etaSeconds(snapshot.state, total - finished, ratePerSecond),
  };
}

/**
 * Seconds until `remaining` items finish at `ratePerSecond`, rounded up. While the run is
 * still snapshotting, `remaining` only counts what is snapshotted so far: a lower bound.
 */
export function etaSeconds(state: RunState, remaining: number, ratePerSecond: number | null): number | null {
  if (state === "completed") return 0;
  if (state === "cancelled" || state === "paused") return null;
  if (remaining <= 0) return 0;
  if (ratePerSecond === null || ratePerSecond <= 0) return null;
  return Math.ceil(remaining / ratePerSecond);
}

/** `[########----------------]`: `width` cells, filled in proportion to `fraction` (clamped to 0–1). */
export function progressBar(fraction: number, width = 24): string {
  const clamped = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.floor(clamped * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}

/** `45s`, `4m05s`, `2h03m`: short enough for one line, exact enough for an ETA. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** `12.3/s` below 100 per second, `1234/s` above; `--/s` while unknown. */
export function formatRate(perSecond: number | null): string {
  if (perSecond === null) return "--/s";
  return perSecond < 100 ? `${perSecond.toFixed(1)}/s` : `${Math.round(perSecond)}/s`;
}

/**
 * The human line of one tick:
 * `run_x running [######------] 120/500 24.0% · done 110 · failed 8 · skipped 2 · 12.3/s · ETA 31s`.
 * A `+` after the total says the snapshot is still growing it.
 */
export function formatProgressLine(p: RunProgress, barWidth = 24): string {
  const total = Math.max(p.total, p.finished);
  const fraction = total > 0 ? p.finished / total : p.state === "completed" ? 1 : 0;
  const eta = p.eta_s === null ? "--" : formatDuration(p.eta_s);
  return [
    `${p.id} ${p.state} ${progressBar(fraction, barWidth)} ${p.finished}/${p.total}${p.snapshot_complete ? "" : "+"} ${p.percent.toFixed(1)}%`,
    `done ${p.done}`,
    `failed ${p.failed}`,
    `skipped ${p.skipped}`,
    formatRate(p.rate_per_s),
    `ETA ${eta}`,
  ].join(" · ");
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
