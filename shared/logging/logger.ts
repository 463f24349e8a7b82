import pino, { type Logger } from "pino";

export type { Logger };

/**
 * Paths never written to logs: connection strings carry passwords, S3 settings keys.
 * pino replaces them with "[redacted]" wherever they appear in a logged object.
 */
export const REDACTED_PATHS = [
  "password",
  "*.password",
  "DATABASE_URL",
  "*.DATABASE_URL",
  "REDIS_URL",
  "*.REDIS_URL",
  "connection",
  "*.connection",
  "secretAccessKey",
  "*.secretAccessKey",
  "*.credentials",
  "authorization",
  "*.authorization",
];

/**
 * The JSON logger of one process. Item lines carry run, product, job, model version and
 * stage as fields (`logger.child({ runId, productId, jobId, modelVersion, stage })`), so
 * ops can follow one product across processes.
 */
export function createLogger(options: { level: string; role: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { role: options.role, pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}

/** A URL with its password (if any) replaced, for log lines and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "redacted";
    return u.toString();
  } catch {
    return "[unparseable url]";
  }
}

/**
 * Node's own warnings (deprecations, the AWS SDK's "upgrade to Node 22" notice) as JSON lines at
 * warn, instead of the multi-line text Node writes to stderr by default: every line a process
 * prints parses as JSON.
 */
export function logProcessWarnings(logger: Logger): void {
  process.removeAllListeners("warning");
  process.on("warning", (warning) => logger.warn({ warning: warning.name, code: (warning as { code?: string }).code }, warning.message));
}

/**
 * A logger for errors that repeat during an outage (a reconnecting client's, BullMQ's after a
 * Redis flush): the first of each kind (`key`, default the message) is logged at once; the same
 * kind again within `windowMs` is counted, and the count logged with the next one after the window.
 */
export function repeatLimited(logger: Logger, windowMs = 10_000) {
  const seen = new Map<string, { at: number; suppressed: number }>();
  return (level: "warn" | "error", fields: Record<string, unknown>, message: string, key = message): void => {
    const now = Date.now();
    const entry = seen.get(key);
    if (entry && now - entry.at < windowMs) {
      entry.suppressed += 1;
      return;
    }
    logger[level]({ ...fields, ...(entry?.suppressed ? { repeated: entry.suppressed } : {}) }, message);
    seen.set(key, { at: now, suppressed: 0 });
  };
}
