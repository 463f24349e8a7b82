import { readFile } from "node:fs/promises";
import type { z } from "zod";
import { ConfigError } from "../errors/index.js";

/**
 * A JSON file a person gives a command (a labels map, an evaluation report), parsed by `schema`.
 * Anything wrong is a ConfigError in one line naming `what`, the file and the field.
 */
export async function readJsonFile<S extends z.ZodType>(file: string, schema: S, what: string): Promise<z.output<S>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : `not valid JSON (${(cause as Error).message})`;
    throw new ConfigError(`${what} ${file}: ${why}`, { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${what} ${file}: ${issue?.path.join(".") || "top level"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}
