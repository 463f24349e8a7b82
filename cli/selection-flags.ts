import { readFile } from "node:fs/promises";
import { ConfigError } from "../shared/errors/index.js";
import { parseSelection, type Selection } from "../shared/ledger/selection.js";

/**
 * The flags that choose a run's products, shared by every command that starts or schedules
 * runs: spread into `parseFlags`' options, then read with `selectionFromFlags`.
 */
export const SELECTION_FLAGS = {
  all: { type: "boolean", default: false },
  category: { type: "string" },
  "updated-since": { type: "string" },
  "ids-file": { type: "string" },
  "changed-since-last-success": { type: "boolean", default: false },
} as const;

export const SELECTION_USAGE = "--all | --category NAME | --updated-since ISO-DATE | --ids-file FILE | --changed-since-last-success";

export interface SelectionFlagValues {
  all?: boolean | undefined;
  category?: string | undefined;
  "updated-since"?: string | undefined;
  "ids-file"?: string | undefined;
  "changed-since-last-success"?: boolean | undefined;
}

/**
 * The one selection the flags give. None given: `fallback` when there is one, else a
 * ConfigError; more than one: a ConfigError (`command` names the command in messages).
 */
export async function selectionFromFlags(command: string, values: SelectionFlagValues, fallback?: Selection): Promise<Selection> {
  const selections: Selection[] = [];
  if (values.all) selections.push({ kind: "all" });
  if (values.category !== undefined) selections.push({ kind: "category", category: values.category });
  if (values["updated-since"] !== undefined) {
    const since = new Date(values["updated-since"]);
    if (Number.isNaN(since.getTime())) throw new ConfigError(`facet ${command}: --updated-since must be an ISO date, got '${values["updated-since"]}'`);
    selections.push({ kind: "updated_since", since: since.toISOString() });
  }
  if (values["ids-file"] !== undefined) selections.push({ kind: "ids", ids: await readIds(command, values["ids-file"]) });
  if (values["changed-since-last-success"]) selections.push({ kind: "changed_since_last_success" });
  const [only] = selections;
  if (selections.length === 0 && fallback) return fallback;
  if (selections.length !== 1 || only === undefined) {
    throw new ConfigError(`facet ${command}: give ${fallback ? "at most" : "exactly"} one selection: ${SELECTION_USAGE}`);
  }
  return parseSelection(only);
}

async function readIds(command: string, file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new ConfigError(`facet ${command}: --ids-file ${file}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, { cause });
  }
  const ids = [...new Set(text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean))];
  if (ids.length === 0) throw new ConfigError(`facet ${command}: --ids-file ${file} lists no product ids`);
  return ids;
}
