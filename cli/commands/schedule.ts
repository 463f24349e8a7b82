import { ConfigError } from "../../shared/errors/index.js";
import { describeSelection } from "../../shared/ledger/selection.js";
import { redisConnection } from "../../shared/queue/describe-queue.js";
import {
  checkSchedule, createScheduleQueue, listSchedules, removeSchedule, setSchedule, type ScheduleInfo, type ScheduleInput,
} from "../../producers/schedules/run-schedules.js";
import { LATEST } from "../../shared/model-store/model-version.js";
import { openObjectStore } from "../../shared/storage/object-store.js";
import { resolveVersion } from "../../shared/model-store/model-store.js";
import { SELECTION_FLAGS, SELECTION_USAGE, selectionFromFlags } from "../selection-flags.js";
import { Services } from "../services.js";
import { dispatch, parseFlags, positiveInt } from "../usage-error.js";

/**
 * Runs scheduled runs start by default. Shadow, as `run start`: a schedule writes to the
 * live catalogue only when someone asks for it. Priority 1000, below a manual run's 100:
 * a big nightly run must not hold back a run a person is waiting for.
 */
const DEFAULT_MODE = "shadow";
const DEFAULT_PRIORITY = 1000;

const HELP = `usage: facet schedule <command> [options]   (every command takes --json)

  set NAME --cron EXPR [--tz ZONE] [SELECTION] [--model latest|VERSION]
           [--mode shadow|apply] [--priority N]
        create or replace schedule NAME; each time it fires, a run starts
        EXPR: 5 cron fields (minute hour day-of-month month day-of-week), or 6 with
              seconds first; read in --tz (IANA, e.g. Europe/Madrid; default UTC)
        SELECTION: ${SELECTION_USAGE}
              (default --changed-since-last-success)
        --model: latest (default; resolved each time it fires) or a version to pin
        --mode: default ${DEFAULT_MODE}; --priority: default ${DEFAULT_PRIORITY} (1 is the most urgent; manual runs get 100)
  list          every schedule and when it fires next
  remove NAME   delete a schedule (runs it started are not touched)

  Schedules fire while a \`facet producer\` is running; a fire missed while none was runs once when one starts.`;

export async function scheduleCommand(args: string[]): Promise<number> {
  return dispatch("schedule", HELP, { set, list, remove }, args);
}

async function set(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("schedule set", args, {
    cron: { type: "string" },
    tz: { type: "string" },
    ...SELECTION_FLAGS,
    model: { type: "string", default: LATEST },
    mode: { type: "string", default: DEFAULT_MODE },
    priority: { type: "string" },
    json: { type: "boolean", default: false },
  });
  const name = onlyName("set", positionals);
  if (values.cron === undefined) throw new ConfigError("facet schedule set: --cron EXPR is required (e.g. --cron \"0 2 * * *\")");
  if (values.mode !== "shadow" && values.mode !== "apply") throw new ConfigError(`facet schedule set: --mode must be shadow or apply, got '${values.mode}'`);
  const input: ScheduleInput = {
    name,
    cron: values.cron,
    ...(values.tz !== undefined ? { tz: values.tz } : {}),
    selection: await selectionFromFlags("schedule set", values, { kind: "changed_since_last_success" }),
    modelVersion: values.model,
    mode: values.mode,
    priority: positiveInt("schedule set", "priority", values.priority, DEFAULT_PRIORITY),
  };
  // Everything that needs no service is checked before anything is opened.
  checkSchedule(input);
  const services = new Services("cli");
  const source = openObjectStore(services.config.MODEL_STORE, { ...services.s3, access: "bundles" });
  const queue = createScheduleQueue(redisConnection(services.config.REDIS_URL), services.config.QUEUE_PREFIX);
  try {
    // Refuse a version the store does not have (or `latest` of an empty store) now, rather
    // than fail at every fire; `latest` itself is stored and resolved when the schedule fires.
    const resolved = await resolveVersion(source, input.modelVersion);
    const info = await setSchedule(queue, input);
    if (values.json) console.log(JSON.stringify(scheduleJson(info)));
    else console.log(`schedule ${describe(info)}${input.modelVersion === LATEST ? ` (latest is ${resolved} now)` : ""}`);
    return 0;
  } finally {
    await queue.close();
    source.close();
    await services.close();
  }
}

async function list(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("schedule list", args, { json: { type: "boolean", default: false } });
  if (positionals.length) throw new ConfigError(`facet schedule list: unexpected argument '${positionals[0]}'`);
  const services = new Services("cli");
  const queue = createScheduleQueue(redisConnection(services.config.REDIS_URL), services.config.QUEUE_PREFIX);
  try {
    const schedules = await listSchedules(queue);
    if (values.json) console.log(JSON.stringify(schedules.map(scheduleJson)));
    else if (schedules.length === 0) console.log("no schedules");
    else for (const s of schedules) console.log(describe(s));
    return 0;
  } finally {
    await queue.close();
    await services.close();
  }
}

async function remove(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("schedule remove", args, { json: { type: "boolean", default: false } });
  const name = onlyName("remove", positionals);
  const services = new Services("cli");
  const queue = createScheduleQueue(redisConnection(services.config.REDIS_URL), services.config.QUEUE_PREFIX);
  try {
    await removeSchedule(queue, name);
    if (values.json) console.log(JSON.stringify({ removed: name }));
    else console.log(`removed schedule ${name}`);
    return 0;
  } finally {
    await queue.close();
    await services.close();
  }
}

function onlyName(command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new ConfigError(`facet schedule ${command}: give one schedule name`);
  return positionals[0] as string;
}

function scheduleJson(s: ScheduleInfo) {
  return {
    name: s.name,
    cron: s.cron,
    tz: s.tz ?? "UTC",
    next: s.next?.toISOString() ?? null,
    ...(s.template
      ? { model_version: s.template.modelVersion, selection: s.template.selection, mode: s.template.mode, priority: s.template.priority }
      : {}),
    ...(s.problem ? { problem: s.problem } : {}),
  };
}

/** One line: `nightly "0 2 * * *" UTC, next …: model latest · changed since … · shadow · priority 1000`. */
function describe(s: ScheduleInfo): string {
  const when = `${s.name} "${s.cron}" ${s.tz ?? "UTC"}, next ${s.next?.toISOString() ?? "never"}`;
  if (!s.template) return `${when}: unusable (${s.problem ?? "no template"}); set it again`;
  const t = s.template;
  return `${when}: model ${t.modelVersion} · ${describeSelection(t.selection)} · ${t.mode} · priority ${t.priority}`;
}
