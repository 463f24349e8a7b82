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
