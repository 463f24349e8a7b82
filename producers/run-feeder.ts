import type { Queue } from "bullmq";
import type { Logger } from "../shared/logging/logger.js";
import { describeJob, type DescribeJob } from "../shared/queue/describe-queue.js";
import type { Run } from "../shared/ledger/run.js";
import {
  completeIfFinished, getRun, listRuns, markEnqueued, pendingItemsAfter, skipCancelledItems, snapshotChunk, transitionRun, type LedgerContext,
} from "../shared/ledger/run-ledger.js";
import { countHanded, type JobLoss, type SettledLosses } from "../shared/ledger/lost-jobs.js";
import { healRun } from "./lost-jobs.js";
import type { ApplySettings } from "../shared/ledger/apply-rules.js";
import { releaseHeldAtCompletion } from "../shared/ledger/run-shift.js";

export interface RunFeederOptions {
  ledger: LedgerContext;
  queue: Queue<DescribeJob>;
  /** SUSPECT_QUEUE: items that crashed a worker are enqueued again here, one per worker at a time. */
  suspectQueue?: Queue<DescribeJob>;
  logger: Logger;
  /**
   * Most jobs of one run in Redis at once (waiting, delayed or active). Keeps Redis memory
   * flat whatever the run's size; large enough that workers never wait for the producer.
   * Default 2000.
   */
  backlogPerRun?: number;
  /** Products snapshotted per transaction. Default 50 000. */
  snapshotChunk?: number;
  /** Longest a tick spends snapshotting one run before feeding, ms. Default 2000. */
  snapshotBudgetMs?: number;
  /** How often the feeder looks at the ledger, ms. Default 500. */
  intervalMs?: number;
  /**
   * How often each running run's handed items are checked for jobs that left Redis without an
   * outcome (producers/lost-jobs.ts), ms: the longest a lost item waits. Default 10 000.
   */
  healIntervalMs?: number;
  /**
   * The apply rules, to release an apply run's held results when it completes (shared/ledger/run-shift.ts).
   * Without them (shadow-only tests and benchmarks) held results stay held.
   */
  apply?: ApplySettings;
  /** Told of every settled batch of lost jobs (the producer's metrics). */
  onLostJobs?: (losses: readonly JobLoss[], settled: SettledLosses) => void;
}

export const FEEDER_STATES = { idle: "idle", running: "running", stopping: "stopping", stopped: "stopped" } as const;
export type FeederState = (typeof FEEDER_STATES)[keyof typeof FEEDER_STATES];

/**
 * The producer's loop: snapshots new runs, keeps each running run's backlog in Redis topped
 * up from the ledger, enqueues again what Redis lost (healRun, every healIntervalMs), completes
 * runs with nothing pending. Stateless between ticks: every decision is read from Postgres, so
 * any number of restarts or Redis flushes loses nothing, and two feeders at once only duplicate
 * harmless `add`s.
 */
export class RunFeeder {
  private readonly options: Required<Omit<RunFeederOptions, "ledger" | "queue" | "logger" | "onLostJobs" | "suspectQueue" | "apply">> &
    Pick<RunFeederOptions, "ledger" | "queue" | "logger" | "onLostJobs" | "suspectQueue" | "apply">;
  private state: FeederState = FEEDER_STATES.idle;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastHeal = 0;

  constructor(options: RunFeederOptions) {
    this.options = { backlogPerRun: 2000, snapshotChunk: 50_000, snapshotBudgetMs: 2000, intervalMs: 500, healIntervalMs: 10_000, ...options };
  }

  get status(): FeederState {
    return this.state;
  }

  start(): void {
    if (this.state !== FEEDER_STATES.idle) return;
    this.state = FEEDER_STATES.running;
    this.loop = this.run();
  }

  /** Finish the current tick and stop. */
  async stop(): Promise<void> {
    if (this.state === FEEDER_STATES.running) this.state = FEEDER_STATES.stopping;
    this.wake?.();
    await this.loop;
    this.state = FEEDER_STATES.stopped;
  }

  private async run(): Promise<void> {
    while (this.state === FEEDER_STATES.running) {
      try {
        await this.tick();
      } catch (error) {
        // Postgres or Redis down: log and try again next tick; the ledger is unchanged.
        this.options.logger.error({ err: error }, "feeder tick failed");
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.intervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** One pass over the active runs. Exposed for tests and for `facet run start --wait`-style drivers. */
  async tick(): Promise<void> {
    const runs = await listRuns(this.options.ledger, { states: ["snapshotting", "running"], limit: 1000 });
    // Most urgent first, so a small urgent run is snapshotted and fed before a huge nightly one.
    runs.sort((a, b) => a.priority - b.priority || a.created_at.getTime() - b.created_at.getTime());
    const heal = Date.now() - this.lastHeal >= this.options.healIntervalMs;
    for (const run of runs) {
      if (heal) await this.heal(run);
      if (run.state === "snapshotting") await this.snapshot(run);
      else await this.feed(run);
    }
    if (heal) this.lastHeal = Date.now();
    // What a cancel left pending in a large run, a chunk per tick.
    await skipCancelledItems(this.options.ledger);
  }

  /** Enqueue again what Redis lost of the run's handed items (or end the items at their limit). */
  private async heal(run: Run): Promise<void> {
    if (run.enqueued_seq === 0) return;
    const { ledger, queue, suspectQueue, logger, onLostJobs } = this.options;
    await healRun({ ledger, queue, logger, ...(suspectQueue ? { suspects: suspectQueue } : {}), ...(onLostJobs ? { onSettled: onLostJobs } : {}) }, run);
  }

  /**
   * Snapshot chunks back to back for up to snapshotBudgetMs, then feed what is there: a large
   * run is snapshotted at Postgres' speed, not one chunk per tick, and other runs still get fed.
   */
  private async snapshot(run: Run): Promise<void> {
    const started = performance.now();
    let added = 0;
    let step: number;
    do {
      step = await snapshotChunk(this.options.ledger, run, this.options.snapshotChunk);
      added += step;
    } while (step > 0 && performance.now() - started < this.options.snapshotBudgetMs && this.state !== FEEDER_STATES.stopping);
    const current = await getRun(this.options.ledger, run.id);
    if (current.snapshot_complete && current.state === "snapshotting") {
      await transitionRun(this.options.ledger, run.id, "running");
      this.options.logger.info({ runId: run.id, total: current.total }, "run snapshot complete");
    } else if (added > 0) {
      await this.feed(current);
    }
  }

  private async feed(run: Run): Promise<void> {
    const { ledger, queue, backlogPerRun } = this.options;
    const room = backlogPerRun - (await countHanded(ledger, run.id, run.enqueued_seq));
    if (room > 0) {
      const items = await pendingItemsAfter(ledger, run.id, run.enqueued_seq, room);
      if (items.length > 0) {
        await queue.addBulk(items.map((item) => describeJob(run, item)));
        await markEnqueued(ledger, run.id, (items.at(-1) as { seq: number }).seq);
        return;
      }
    }
    if (run.state === "running" && (await completeIfFinished(ledger, run.id))) {
      const released = run.mode === "apply" && this.options.apply ? await releaseHeldAtCompletion(ledger, run.id, this.options.apply) : {};
      this.options.logger.info({ runId: run.id, ...(Object.keys(released).length ? { released } : {}) }, "run completed");
    }
  }
}
