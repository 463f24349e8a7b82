import { ConfigError } from "../../shared/errors/index.js";
import { getRun, listRuns, runCounts } from "../../shared/ledger/run-ledger.js";
import { controlRun, runJson, startRun } from "../../producers/run-control.js";
import { describeSelection } from "../../shared/ledger/selection.js";
import { describeShift } from "../../models/runtime/run-shift.js";
import { applyShadowRun } from "../../producers/run-apply.js";
import { compareRuns } from "../../producers/run-compare.js";
import { formatProgressLine } from "../../producers/run-progress.js";
import { retryFailed } from "../../shared/ledger/retry-failed.js";
import { rollbackRun } from "../../producers/run-rollback.js";
import { watchRun } from "../../producers/run-watch.js";
import { openObjectStore } from "../../shared/storage/object-store.js";
import { Services } from "../services.js";
import { SELECTION_FLAGS, selectionFromFlags } from "../selection-flags.js";
import { dispatch, parseFlags, positiveInt } from "../usage-error.js";

const HELP = `usage: facet run <command> [options]   (every command takes --json)

  start --model VERSION|latest SELECTION [--mode shadow|apply] [--priority N | --urgent]
        [--allow-empty]
        SELECTION: --all | --category NAME | --updated-since ISO-DATE | --ids-file FILE
                   | --changed-since-last-success
        a selection that matches no product is refused (exit 2) unless --allow-empty
  status RUN        progress of one run
  list [--limit N]  recent runs
  pause RUN | resume RUN | cancel RUN
                    resume also hands every pending item to the feeder again (the producer
                    already enqueues again what Redis lost, within HEAL_INTERVAL_MS)
  compare RUN_A [RUN_B] [--examples N]
                    how many products change category, metal or gemstone between a (shadow)
                    run and RUN_B, or what each product has now (Facet's applied text, else the
                    seller's own words), with examples
  apply RUN         apply a shadow run's generated descriptions (same rules as --mode apply;
                    results the worker sent to review stay needs_review)
  rollback RUN      restore the text each product had before this run applied to it
                    (text the artisan edited or locked since is left alone)
  retry-failed RUN  put the run's failed items back in the queue (reopens a completed run)
  watch RUN [--interval-ms N]
                    live progress until the run completes or is cancelled (--json: ndjson)`;

export async function runCommand(args: string[]): Promise<number> {
  return dispatch("run",
    HELP,
    {
      start,
      status,
      list,
      pause: (rest) => control("pause", rest),
      resume: (rest) => control("resume", rest),
      cancel: (rest) => control("cancel", rest),
      compare,
      apply,
      rollback,
      "retry-failed": retry,
      watch,
    },
    args,
  );
}

async function start(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("run start", args, {
    model: { type: "string" },
    ...SELECTION_FLAGS,
    mode: { type: "string", default: "shadow" },
    priority: { type: "string" },
    urgent: { type: "boolean", default: false },
    "allow-empty": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  });
  if (positionals.length) throw new ConfigError(`facet run start: unexpected argument '${positionals[0]}'`);
  if (!values.model) throw new ConfigError("facet run start: --model VERSION (or latest) is required");
  if (values.mode !== "shadow" && values.mode !== "apply") throw new ConfigError(`facet run start: --mode must be shadow or apply, got '${values.mode}'`);
  const selection = await selectionFromFlags("run start", values);
  const priority = values.urgent ? 1 : positiveInt("run start", "priority", values.priority, 100);
  const services = new Services("cli");
  const source = openObjectStore(services.config.MODEL_STORE, { ...services.s3, access: "bundles" });
  try {
    const run = await startRun(services.ledger, source, { model: values.model, selection, mode: values.mode, priority, allowEmpty: values["allow-empty"], allowEmptyHint: "--allow-empty" }).catch((error: unknown) => {
      throw error instanceof ConfigError && error.message.startsWith("the selection") ? new ConfigError(`facet run start: ${error.message}`) : error;
    });
    if (values.json) console.log(JSON.stringify(runJson(run)));
    else console.log(`started ${run.id}: model ${run.model_version}, ${describeSelection(run.selection)}, ${run.mode}, priority ${run.priority}`);
    return 0;
  } finally {
    source.close();
    await services.close();
  }
}

async function status(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("run status", args, { json: { type: "boolean", default: false } });
  const id = onlyRunId("status", positionals);
  const services = new Services("cli");
  try {
    const run = await getRun(services.ledger, id);
    const counts = await runCounts(services.ledger, id);
    if (values.json) console.log(JSON.stringify(runJson(run, counts)));
    else {
      const finished = counts.done + counts.failed + counts.skipped;
      console.log(`${run.id} ${run.state}: ${finished}/${run.total}${run.snapshot_complete ? "" : "+"} finished · done ${counts.done} · failed ${counts.failed} · skipped ${counts.skipped}`);
      console.log(`  model ${run.model_version} · ${describeSelection(run.selection)} · ${run.mode} · priority ${run.priority}`);
      if (run.shift_baseline !== null) console.log(`  ${describeShift({ products: run.shift_products, unusual: run.shift_unusual }, run.shift_baseline)}`);
    }
    return 0;
  } finally {
    await services.close();
  }
}

async function list(args: string[]): Promise<number> {
  const { values } = parseFlags("run list", args, { json: { type: "boolean", default: false }, limit: { type: "string" } });
  const services = new Services("cli");
  try {
    const runs = await listRuns(services.ledger, { limit: positiveInt("run list", "limit", values.limit, 20) });
    if (values.json) console.log(JSON.stringify(runs.map((r) => runJson(r))));
    else for (const r of runs) console.log(`${r.id}  ${r.state.padEnd(12)} ${String(r.total).padStart(8)}  ${r.mode.padEnd(6)} model ${r.model_version}  ${describeSelection(r.selection)}`);
    return 0;
  } finally {
    await services.close();
  }
}

async function control(action: "pause" | "resume" | "cancel", args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(`run ${action}`, args, { json: { type: "boolean", default: false } });
  const id = onlyRunId(action, positionals);
  const services = new Services("cli");
  try {
    const run = await controlRun(services.ledger, id, action);
    if (values.json) console.log(JSON.stringify(runJson(run)));
    else console.log(`${id} ${run.state}`);
    return 0;
  } finally {
    await services.close();
  }
}

async function compare(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("run compare", args, { json: { type: "boolean", default: false }, examples: { type: "string" } });
  const [runA, runB, extra] = positionals;
  if (!runA || extra !== undefined) throw new ConfigError("facet run compare: give RUN_A and optionally RUN_B (see facet run --help)");
  const services = new Services("cli");
  try {
    const result = await compareRuns(services.ledger, runA, runB ?? null, { examples: positiveInt("run compare", "examples", values.examples, 5) });
    if (values.json) {
      console.log(JSON.stringify(result));
      return 0;
    }
    console.log(`${runA} against ${runB ?? "what each product has now"}: ${result.products} products${result.unmatched ? ` (${result.unmatched} with nothing to compare against)` : ""}`);
    for (const [name, a] of Object.entries(result.attributes)) {
      const share = a.compared ? ` (${((100 * a.changed) / a.compared).toFixed(1)}%)` : "";
      console.log(`  ${name.padEnd(9)} ${a.changed} of ${a.compared} change${share}${a.transitions.length ? `: ${a.transitions.slice(0, 4).map((t) => `${t.from} → ${t.to} ${t.products}`).join(", ")}` : ""}`);
      for (const e of a.examples) console.log(`      ${e.productId}: ${e.from} → ${e.to} (${(100 * e.confidence).toFixed(0)}%)  "${e.before ?? ""}" → "${e.after}"`);
    }
    return 0;
  } finally {
    await services.close();
  }
}

async function apply(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("run apply", args, { json: { type: "boolean", default: false } });
  const id = onlyRunId("apply", positionals);
  const services = new Services("cli");
  const progress = stderrProgress(!values.json);
  try {
    const c = services.config;
    const summary = await applyShadowRun(
      {
        ledger: services.ledger,
        apply: { applyFunction: c.CATALOGUE_APPLY_FUNCTION, reviewThreshold: c.REVIEW_THRESHOLD, reviewAttributes: c.REVIEW_ATTRIBUTES },
        onChunk: (s) => progress.show(`applying ${id}: ${s.processed} versions so far`),
      },
      id,
    );
    const run = await getRun(services.ledger, id);
    if (values.json) console.log(JSON.stringify({ id, state: run.state, processed: summary.processed, statuses: summary.statuses }));
    else {
      console.log(summary.processed === 0 ? `${id}: no generated version left to apply` : `${id}: ${summary.processed} versions · ${countsText(summary.statuses)}`);
      if (run.state !== "completed" && run.state !== "cancelled") console.log(`  the run is ${run.state}: apply it again when it completes, for what it writes from now on`);
    }
    return 0;
  } finally {
    progress.clear();
    await services.close();
  }
}

async function rollback(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("run rollback", args, { json: { type: "boolean", default: false } });
  const id = onlyRunId("rollback", positionals);
  const services = new Services("cli");
  const progress = stderrProgress(!values.json);
  try {
    const summary = await rollbackRun(
      {
        ledger: services.ledger,
        applyFunction: services.config.CATALOGUE_APPLY_FUNCTION,
        onChunk: (s) => progress.show(`rolling back ${id}: ${s.processed} products so far`),
      },
      id,
    );
    if (values.json) console.log(JSON.stringify({ id, processed: summary.processed, outcomes: summary.outcomes }));
    else console.log(summary.processed === 0 ? `${id}: no product holds a description this run applied` : `${id}: ${summary.processed} products · ${countsText(summary.outcomes)}`);
    return 0;
  } finally {
    progress.clear();
    await services.close();
  }
}

async function retry(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("run retry-failed", args, { json: { type: "boolean", default: false } });
  const id = onlyRunId("retry-failed", positionals);
  const services = new Services("cli");
  try {
    const { run, retried, reopened } = await retryFailed(services.ledger, id);
    if (values.json) console.log(JSON.stringify({ ...runJson(run), retried, reopened }));
    else if (retried === 0) console.log(`${id} ${run.state}: no failed items`);
    else console.log(`${id} ${run.state}: ${retried} failed items back to pending${reopened ? " (run reopened)" : ""}; the producer enqueues them${run.state === "paused" ? " once the run is resumed" : ""}`);
    return 0;
  } finally {
    await services.close();
  }
}

async function watch(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("run watch", args, { json: { type: "boolean", default: false }, "interval-ms": { type: "string" } });
  const id = onlyRunId("watch", positionals);
  const intervalMs = positiveInt("run watch", "interval-ms", values["interval-ms"], 1000);
  const services = new Services("cli");
  // Ctrl-C (or SIGTERM) ends the watch after the current tick, exit 0: watching changes
  // nothing. A second one (a query hanging on a lost database) exits at once, 130.
  const controller = new AbortController();
  const stop = () => (controller.signal.aborted ? process.exit(130) : controller.abort());
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const tty = !values.json && process.stdout.isTTY === true;
  let redrawn = false;
  try {
    for await (const progress of watchRun(services.ledger, id, { intervalMs, signal: controller.signal })) {
      if (values.json) console.log(JSON.stringify(progress));
      else if (tty) {
        // One line, redrawn in place; cut to the terminal's width, or it wraps and \r stops working.
        const line = formatProgressLine(progress).slice(0, Math.max(20, (process.stdout.columns || 120) - 1));
        process.stdout.write(`\r${line}\x1b[K`);
        redrawn = true;
      } else console.log(formatProgressLine(progress));
    }
    return 0;
  } finally {
    if (redrawn) process.stdout.write("\n");
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await services.close();
  }
}

/** `applied 3 · kept_locked 1`, in a stable order. */
function countsText(counts: Record<string, number | undefined>): string {
  return Object.entries(counts)
    .filter(([, n]) => n)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status} ${n}`)
    .join(" · ");
}

/**
 * Progress of a long chunked command, one line on stderr redrawn in place, cleared when done
 * so the result prints on a clean line. Silent when stderr is not a terminal (logs, CI).
 */
function stderrProgress(enabled: boolean) {
  const on = enabled && process.stderr.isTTY === true;
  let drawn = false;
  return {
    show(line: string) {
      if (!on) return;
      process.stderr.write(`\r${line}\x1b[K`);
      drawn = true;
    },
    clear() {
      if (drawn) process.stderr.write("\r\x1b[K");
    },
  };
}

function onlyRunId(command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new ConfigError(`facet run ${command}: give one run id`);
  return positionals[0] as string;
}
