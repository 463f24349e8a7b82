import { describe, expect, it } from "vitest";
import { etaSeconds, formatDuration, formatProgressLine, formatRate, isFinalState, progressBar, RateWindow, runProgress, type RunSnapshot } from "./run-progress.js";

const snapshot = (over: Partial<RunSnapshot> = {}): RunSnapshot => ({
  id: "run_x",
  state: "running",
  total: 500,
  snapshotComplete: true,
  counts: { pending: 380, done: 110, failed: 8, skipped: 2 },
  ...over,
});

describe("RateWindow", () => {
  it("has no rate until two samples some time apart", () => {
    const w = new RateWindow();
    expect(w.perSecond()).toBeNull();
    w.add({ atMs: 0, finished: 0 });
    expect(w.perSecond()).toBeNull();
    w.add({ atMs: 0, finished: 5 });
    expect(w.perSecond()).toBeNull();
    w.add({ atMs: 500, finished: 10 });
    expect(w.perSecond()).toBe(20);
  });

  it("measures over the last window only, so it follows a run that slows down", () => {
    const w = new RateWindow(10_000);
    // 100/s for 20 s, then 10/s for 10 s.
    for (let s = 0; s <= 20; s++) w.add({ atMs: s * 1000, finished: s * 100 });
    expect(w.perSecond()).toBe(100);
    for (let s = 21; s <= 30; s++) w.add({ atMs: s * 1000, finished: 2000 + (s - 20) * 10 });
    expect(w.perSecond()).toBe(10);
    // Halfway through the change, the window mixes both rates: (2050 - 1500) / 10 s.
    const mid = new RateWindow(10_000);
    for (let s = 0; s <= 20; s++) mid.add({ atMs: s * 1000, finished: s * 100 });
    for (let s = 21; s <= 25; s++) mid.add({ atMs: s * 1000, finished: 2000 + (s - 20) * 10 });
    expect(mid.perSecond()).toBe(55);
  });

  it("spans a full window even when samples are sparse, and never goes negative", () => {
    const w = new RateWindow(10_000);
    w.add({ atMs: 0, finished: 0 });
    w.add({ atMs: 30_000, finished: 300 });
    expect(w.perSecond()).toBe(10);
    const back = new RateWindow(10_000);
    back.add({ atMs: 0, finished: 300 });
    back.add({ atMs: 1000, finished: 250 }); // retry-failed moved items back to pending
    expect(back.perSecond()).toBe(0);
    expect(() => w.add({ atMs: 1000, finished: 0 })).toThrow(RangeError);
    expect(() => new RateWindow(0)).toThrow(RangeError);
  });
});

describe("etaSeconds", () => {
  it("divides what is left by the rate, rounding up", () => {
    expect(etaSeconds("running", 100, 30)).toBe(4);
    expect(etaSeconds("snapshotting", 10, 2.5)).toBe(4);
  });
  it("is unknown without a rate, paused or cancelled, and 0 when nothing is left or the run completed", () => {
    expect(etaSeconds("running", 100, null)).toBeNull();
    expect(etaSeconds("running", 100, 0)).toBeNull();
    expect(etaSeconds("paused", 100, 5)).toBeNull();
    expect(etaSeconds("cancelled", 100, 5)).toBeNull();
    expect(etaSeconds("running", 0, null)).toBe(0);
    expect(etaSeconds("completed", 3, null)).toBe(0);
  });
});

describe("formatting", () => {
  it("formats durations short and exact enough", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(44.2)).toBe("45s");
    expect(formatDuration(60)).toBe("1m00s");
    expect(formatDuration(245)).toBe("4m05s");
    expect(formatDuration(7380)).toBe("2h03m");
  });

  it("formats rates", () => {
    expect(formatRate(null)).toBe("--/s");
    expect(formatRate(12.34)).toBe("12.3/s");
    expect(formatRate(1234.4)).toBe("1234/s");
  });

  it("draws a clamped bar", () => {
    expect(progressBar(0, 10)).toBe("[----------]");
    expect(progressBar(0.25, 8)).toBe("[##------]");
    expect(progressBar(1, 4)).toBe("[####]");
    expect(progressBar(1.5, 4)).toBe("[####]");
    expect(progressBar(Number.NaN, 4)).toBe("[----]");
  });

  it("gives one tick's figures and its line", () => {
    const p = runProgress(snapshot(), 12.34);
    expect(p).toEqual({
      id: "run_x", state: "running", total: 500, snapshot_complete: true,
      finished: 120, done: 110, failed: 8, skipped: 2, pending: 380, percent: 24, rate_per_s: 12.34, eta_s: 31,
    });
    expect(formatProgressLine(p, 10)).toBe("run_x running [##--------] 120/500 24.0% · done 110 · failed 8 · skipped 2 · 12.3/s · ETA 31s");
  });

  it("marks a total the snapshot is still growing, and an unknown rate", () => {
    const p = runProgress(snapshot({ state: "snapshotting", snapshotComplete: false, total: 200, counts: { pending: 200, done: 0, failed: 0, skipped: 0 } }), null);
    expect(formatProgressLine(p, 4)).toBe("run_x snapshotting [----] 0/200+ 0.0% · done 0 · failed 0 · skipped 0 · --/s · ETA --");
  });

  it("shows a completed run (even an empty one) as whole", () => {
    const p = runProgress(snapshot({ state: "completed", total: 0, counts: { pending: 0, done: 0, failed: 0, skipped: 0 } }), null);
    expect(p).toMatchObject({ percent: 100, eta_s: 0 });
    expect(formatProgressLine(p, 4)).toBe("run_x completed [####] 0/0 100.0% · done 0 · failed 0 · skipped 0 · --/s · ETA 0s");
    expect(isFinalState("completed") && isFinalState("cancelled")).toBe(true);
    expect(isFinalState("paused") || isFinalState("running") || isFinalState("snapshotting")).toBe(false);
  });
});
