import { ConfigError } from "../shared/errors/index.js";
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Parse a command's flags strictly: an unknown or malformed flag is a ConfigError naming it. */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new ConfigError(`facet ${command}: ${(cause as Error).message.split("\n")[0]}`, { cause });
  }
}

/** A flag value that must be a positive integer. */
export function positiveInt(command: string, flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`facet ${command}: --${flag} must be a positive integer, got '${value}'`);
  return n;
}
