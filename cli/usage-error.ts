import { ConfigError } from "../shared/errors/index.js";
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Parse a command's flags strictly: an unknown or malformed flag is a ConfigError naming it. */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args: joinNegativeValues(args, options), options, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new ConfigError(`facet ${command}: ${(cause as Error).message.split("\n")[0]}`, { cause });
  }
}

/**
 * `--priority -1` as `--priority=-1`: node's parser takes a value starting with "-" for a flag
 * and answers "argument is ambiguous"; joined, the flag's own check names what is wrong with it.
 */
function joinNegativeValues(args: readonly string[], options: NonNullable<ParseArgsConfig["options"]>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const next = args[i + 1];
    const name = arg.startsWith("--") ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === "string" && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** A flag value that must be a positive integer. */
export function positiveInt(command: string, flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`facet ${command}: --${flag} must be a positive integer, got '${value}'`);
  return n;
}

export type Subcommand = (args: string[]) => Promise<number>;

/**
 * Runs `facet COMMAND SUB args…`: SUB's handler, the help (exit 0 when asked for, 2 when SUB is
 * missing) or a ConfigError naming an unknown SUB.
 */
export async function dispatch(command: string, help: string, subcommands: Readonly<Record<string, Subcommand>>, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    console.log(help);
    return sub === undefined ? 2 : 0;
  }
  const handler = Object.hasOwn(subcommands, sub) ? subcommands[sub] : undefined;
  if (!handler) throw new ConfigError(`facet ${command}: unknown command '${sub}' (see facet ${command} --help)`);
  return handler(rest);
}
