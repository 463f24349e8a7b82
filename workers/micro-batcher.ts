/**
 * Groups items that arrive one at a time (jobs) into batches for the model: a batch
 * leaves when it reaches `maxSize`, or `maxWaitMs` after its first item arrived, whichever
 * comes first. At most `maxInFlight` batches run at once; while they run, the next batch
 * fills. When a slot frees, a partial batch leaves at once if fewer than `partialBelow`
 * batches are running (the model would otherwise idle); else it goes on filling.
 */
export interface MicroBatcherOptions<I, O> {
  /** Most items per batch (the model's batch size). */
  maxSize: number;
  /** Longest the first item of a partial batch waits for company, ms. */
  maxWaitMs: number;
  /** Batches running at once. 1 for one model session: a second would only contend for its threads. */
  maxInFlight?: number;
  /**
   * While at least this many batches run, a partial batch keeps filling when a slot frees
   * (until full or `maxWaitMs`): the model is busy anyway, and bigger batches cost less per
   * item (fewer model calls and ledger writes). Default `maxInFlight`: a partial batch
   * always leaves as soon as a slot frees.
   */
  partialBelow?: number;
  /** Runs one batch; returns one result per item, in order. A throw fails every item of the batch. */
  run: (items: I[]) => Promise<O[]>;
  /** Called as each batch leaves, with its size and how long each of its items waited (ms). */
  onBatch?: (size: number, waitedMs: number[]) => void;
}

interface Pending<I, O> {
  item: I;
  /** performance.now() when submitted. */
  at: number;
  resolve: (value: O) => void;
  reject: (reason: unknown) => void;
}

export class MicroBatcher<I, O> {
  private readonly options: Required<Omit<MicroBatcherOptions<I, O>, "onBatch">> & Pick<MicroBatcherOptions<I, O>, "onBatch">;
  private pending: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly running = new Set<Promise<void>>();

  constructor(options: MicroBatcherOptions<I, O>) {
    if (!Number.isInteger(options.maxSize) || options.maxSize < 1) throw new RangeError(`maxSize must be a positive integer, got ${options.maxSize}`);
    if (!(options.maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be >= 0, got ${options.maxWaitMs}`);
    const maxInFlight = options.maxInFlight ?? 1;
    this.options = { maxInFlight, partialBelow: maxInFlight, ...options };
  }

  /** Items waiting for a batch (not yet running). */
  get waiting(): number {
    return this.pending.length;
  }

  /** Batches running now. */
  get active(): number {
    return this.inFlight;
  }

  /** `now`: the batch the item joins leaves at once (as soon as a slot is free), full or not. */
  submit(item: I, options: { now?: boolean } = {}): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, at: performance.now(), resolve, reject });
      if (options.now || this.pending.length >= this.options.maxSize) this.dispatch(options.now);
      else this.timer ??= setTimeout(() => this.dispatch(true), this.options.maxWaitMs);
    });
  }

  /** Send what is waiting now, then wait until no batch is running. */
  async flush(): Promise<void> {
    while (this.pending.length > 0 || this.running.size > 0) {
      this.dispatch(true);
      await Promise.race(this.running);
    }
  }

  /** Start batches while there are slots: full ones always, a partial one only when `due`. */
  private dispatch(due = false): void {
    while (this.inFlight < this.options.maxInFlight && this.pending.length > 0) {
      if (this.pending.length < this.options.maxSize && !due) break;
      const batch = this.pending.splice(0, this.options.maxSize);
      const now = performance.now();
      clearTimeout(this.timer);
      this.timer = undefined;
      this.options.onBatch?.(batch.length, batch.map((p) => now - p.at));
      this.start(batch);
    }
    if (this.pending.length > 0 && this.timer === undefined && this.inFlight < this.options.maxInFlight) {
      // Due maxWaitMs after the first waiting item came (it may have waited for a slot already).
      const waited = performance.now() - (this.pending[0] as Pending<I, O>).at;
      this.timer = setTimeout(() => this.dispatch(true), Math.max(0, this.options.maxWaitMs - waited));
    }
  }

  private start(batch: Pending<I, O>[]): void {
    this.inFlight += 1;
    const done = (async () => {
      try {
        const results = await this.options.run(batch.map((p) => p.item));
        if (results.length !== batch.length) throw new Error(`batch of ${batch.length} returned ${results.length} results`);
        batch.forEach((p, i) => p.resolve(results[i] as O));
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    })().finally(() => {
      this.inFlight -= 1;
      this.running.delete(done);
      // The next batch leaves now, full or not, if the model would otherwise idle or it has waited long enough.
      const first = this.pending[0];
      this.dispatch(first !== undefined && (this.inFlight < this.options.partialBelow || performance.now() - first.at >= this.options.maxWaitMs));
    });
    this.running.add(done);
  }
}
