import { z } from "zod";
import { ConfigError } from "../errors/index.js";

/**
 * Which products a run covers. Values are always bound as query parameters, never
 * spliced into SQL.
 */
export const selectionSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("all") }),
  z.object({ kind: z.literal("category"), category: z.string().min(1).max(200) }),
  z.object({ kind: z.literal("updated_since"), since: z.iso.datetime({ offset: true }) }),
  z.object({ kind: z.literal("ids"), ids: z.array(z.string().min(1).max(500)).min(1).max(10_000_000) }),
  /** Products whose updated_at is after the start of the last completed run (all products if none). */
  z.object({ kind: z.literal("changed_since_last_success") }),
]);
export type Selection = z.infer<typeof selectionSchema>;

/** Parse a stored or submitted selection; a bad one is a ConfigError naming the field. */
export function parseSelection(input: unknown): Selection {
  const parsed = selectionSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ConfigError(`selection${issue?.path.length ? `.${issue.path.join(".")}` : ""}: ${issue?.message ?? "invalid"}`);
}

/** One line for humans: "category=ring", "42 ids", … */
export function describeSelection(s: Selection): string {
  switch (s.kind) {
    case "all":
      return "all products";
    case "category":
      return `category=${s.category}`;
    case "updated_since":
      return `updated since ${s.since}`;
    case "ids":
      return `${s.ids.length} listed products`;
    case "changed_since_last_success":
      return "changed since the last successful run";
  }
}
