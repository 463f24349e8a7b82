import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from "bullmq";
import { FacetError } from "../../shared/errors/index.js";
import type { Run } from "../../shared/ledger/run.js";
import { createRun, findRun, type LedgerContext } from "../../shared/ledger/run-ledger.js";
import type { Logger } from "../../shared/logging/logger.js";
import {
  parseFiredJobId, scheduledRunId, scheduledRunSchema, SCHEDULES_QUEUE, type ScheduledRun, type ScheduledRunResult,
} from "./scheduled-run.js";

export interface ScheduledRunProcessorOptions {
  ledger: LedgerContext;
  /**
   * The version a run pins for the template's `latest` or named version (`resolveVersion`
   * over MODEL_STORE). Throws a ConfigError when the store has no such version (the fire
   * fails without retries) and a TransientError when the store cannot be reached (retried).
   */
  resolveModel: (requested: string) => Promise<string>;
  logger: Logger;
}

export interface ScheduleWorkerOptions extends ScheduledRunProcessorOptions {
  connection: ConnectionOptions;
  /** QUEUE_PREFIX: the same as the describe queue's. */
  prefix: string;
  /**
   * `stop()` lets a fire in hand finish for this long, ms, then closes anyway; the fire then
   * goes back to the queue (BullMQ's stalled-job check) and is processed again, without
   * doubling its run. Default 10 000.
   */
  shutdownDeadlineMs?: number;
}

/**
 * Turns one fired job into a run in the ledger (trigger `schedule`). The run's id is derived
 * from the firing (`scheduledRunId`), so processing the same fire twice, after a crash or a
 * stalled lock, finds the run the first delivery created and starts nothing new. `latest`
 * is resolved now, at fire time: each night's run pins the newest model of that night.
 */
export function createScheduledRunProcessor(options: ScheduledRunProcessorOptions) {
  const { ledger, resolveModel, logger } = options;
  return async function processScheduledRun(job: Pick<Job<unknown>, "id" | "data">): Promise<ScheduledRunResult> {
    const { template, fireMs } = parseFiredJob(job);
    const runId = scheduledRunId(template.schedule, fireMs);
    const log = logger.child({ schedule: template.schedule, jobId: job.id, runId });

    const existing = await findRun(ledger, runId);
    if (existing) {
      log.info("schedule fire delivered again; its run exists already");
      return { runId, modelVersion: existing.model_version, created: false };
    }
    let modelVersion: string;
    try {
      modelVersion = await resolveModel(template.modelVersion);
    } catch (error) {
      throw permanentAsUnrecoverable(error, `schedule '${template.schedule}': model version`);
    }
    try {
      const run = await createRun(ledger, {
        id: runId,
        modelVersion,
        selection: template.selection,
        mode: template.mode,
        priority: template.priority,
        trigger: "schedule",
        scheduleName: template.schedule,
      });
      log.info({ modelVersion, selection: run.selection.kind, mode: run.mode }, "scheduled run created");
      return { runId, modelVersion, created: true };
    } catch (error) {
      // Two deliveries of one fire at once (a stalled lock): the other one won.
      if (isPrimaryKeyViolation(error)) {
        const run = (await findRun(ledger, runId)) as Run;
        return { runId, modelVersion: run.model_version, created: false };
      }
      throw permanentAsUnrecoverable(error, `schedule '${template.schedule}'`);
    }
  };
}

/**
 * A BullMQ worker on the `schedules` queue, hosted by `facet producer`. Several producers may
 * each host one: BullMQ hands every fire to one of them, and the derived run id covers the
 * rare second delivery.
 */
export function startScheduleWorker(options: ScheduleWorkerOptions): { worker: Worker; stop(): Promise<void> } {
  const processFire = createScheduledRunProcessor(options);
  const worker = new Worker<unknown, ScheduledRunResult, string>(SCHEDULES_QUEUE, (job) => processFire(job), {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: 1,
  });
  worker.on("error", (err) => options.logger.error({ err }, "schedule worker error"));
  worker.on("failed", (job, err) => {
    const retrying = job !== undefined && !(err instanceof UnrecoverableError) && job.attemptsMade < (job.opts.attempts ?? 1);
    options.logger.error({ err, jobId: job?.id, attemptsMade: job?.attemptsMade, retrying }, "schedule fire failed");
  });

  const deadlineMs = options.shutdownDeadlineMs ?? 10_000;
  let stopping: Promise<void> | undefined;
  function stop(): Promise<void> {
    stopping ??= (async () => {
      const closing = worker.close();
      const deadline = new Promise<"timeout">((resolve) => setTimeout(resolve, deadlineMs, "timeout").unref());
      if ((await Promise.race([closing.then(() => "closed" as const), deadline])) === "timeout") {
        options.logger.warn({ deadlineMs }, "schedule worker: shutdown deadline passed; the fire in hand goes back to the queue");
        await worker.close(true);
      }
    })();
    return stopping;
  }
  return { worker, stop };
}

/** The job's template and fire time, checked: a job that is not a well-formed fire of its schedule is never retried. */
function parseFiredJob(job: Pick<Job<unknown>, "id" | "data">): { template: ScheduledRun; fireMs: number } {
  const fire = parseFiredJobId(job.id);
  if (!fire) throw new UnrecoverableError(`job ${job.id} is not a schedule fire (expected id repeat:<schedule>:<ms>)`);
  const parsed = scheduledRunSchema.safeParse(job.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UnrecoverableError(
      `schedule '${fire.schedule}': template${issue?.path.length ? `.${issue.path.join(".")}` : ""}: ${issue?.message ?? "invalid"} (set the schedule again)`,
    );
  }
  if (parsed.data.schedule !== fire.schedule) {
    throw new UnrecoverableError(`job ${job.id} carries the template of schedule '${parsed.data.schedule}'`);
  }
  return { template: parsed.data, fireMs: fire.fireMs };
}

function isPrimaryKeyViolation(error: unknown): boolean {
  const e = error as { code?: unknown; constraint?: unknown };
  return e.code === "23505" && e.constraint === "runs_pkey";
}

/**
 * Facet's permanent errors (an unknown model version, a bad template) fail the fire at once:
 * retrying cannot help, and the failed job stays in Redis with the reason. Anything else
 * (Postgres or the store away) is left to BullMQ's attempts and backoff.
 */
function permanentAsUnrecoverable(error: unknown, context: string): unknown {
  if (!(error instanceof FacetError) || error.retryable) return error;
  return Object.assign(new UnrecoverableError(`${context}: ${error.message}`), { cause: error });
}
