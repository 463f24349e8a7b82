/**
 * docker-compose.yml as data, for its tests: parsed the way Compose reads it (YAML merge keys,
 * then `${NAME:-default}` interpolation) and checked against the part of the Compose
 * Specification this file uses, so that a misspelt key fails here rather than being ignored.
 * compose.test.ts checks what it says; compose.smoke.test.ts runs its Facet commands.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";

export const COMPOSE_DIR = fileURLToPath(new URL(".", import.meta.url));
export const COMPOSE_FILE = path.join(COMPOSE_DIR, "docker-compose.yml");

/**
 * The Facet image's ENTRYPOINT and WORKDIR (the Dockerfile's target; compose.test.ts checks
 * both): a service's `command` is the facet command, run from the image's copy of the
 * repository's bin/, dist/ and models/.
 */
export const IMAGE_ENTRYPOINT: readonly string[] = ["node", "--max-semi-space-size=64", "bin/facet.mjs"];
export const IMAGE_WORKDIR = "/app";

const condition = z.enum(["service_started", "service_healthy", "service_completed_successfully"]);
export type DependencyCondition = z.infer<typeof condition>;

const duration = z.string().regex(/^(\d+(ms|s|m|h))+$/, "a Compose duration such as 5s or 1m30s");

const healthcheck = z.union([
  z.strictObject({ disable: z.literal(true) }),
  z.strictObject({
    test: z.array(z.string()).min(2).refine((t) => t[0] === "CMD" || t[0] === "CMD-SHELL", "starts with CMD or CMD-SHELL"),
    interval: duration,
    timeout: duration,
    retries: z.number().int().positive(),
    start_period: duration.optional(),
  }),
]);

/** The service keys this file uses, each in the one form it uses (lists, maps, long depends_on). */
const serviceSchema = z.strictObject({
  image: z.string().min(1),
  build: z.strictObject({ context: z.string(), target: z.string() }).optional(),
  entrypoint: z.array(z.string()).min(1).optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.string()).optional(),
  depends_on: z.record(z.string(), z.strictObject({ condition })).optional(),
  healthcheck: healthcheck.optional(),
  restart: z.enum(["no", "always", "on-failure", "unless-stopped"]).optional(),
  stop_grace_period: duration.optional(),
  ports: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  tmpfs: z.array(z.string()).optional(),
  read_only: z.boolean().optional(),
  profiles: z.array(z.string()).optional(),
  // Known to the Compose Specification, so that the tests can say they are absent.
  container_name: z.string().optional(),
  hostname: z.string().optional(),
  deploy: z.record(z.string(), z.unknown()).optional(),
});
export type ComposeService = z.infer<typeof serviceSchema>;

const composeSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
    services: z.record(z.string(), serviceSchema),
    volumes: z.record(z.string(), z.null()).optional(),
  })
  .catchall(z.unknown())
  .superRefine((doc, ctx) => {
    for (const key of Object.keys(doc)) {
      if (!["name", "services", "volumes"].includes(key) && !key.startsWith("x-")) {
        ctx.addIssue({ code: "custom", path: [key], message: key === "version" ? "the Compose Specification has no version key" : "not a top-level key this file uses (extensions start with x-)" });
      }
    }
  });
export type ComposeFile = z.infer<typeof composeSchema>;

/**
 * Compose's interpolation of one string: `${NAME}` and `${NAME:-default}` from `vars` (unset or
 * empty takes the default), `$$` a literal `$`. Any other `$` form throws, so the file keeps to
 * what is interpolated here exactly as Compose would.
 */
export function interpolate(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$(\$|\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)?/g, (match, body: string | undefined) => {
    if (body === "$") return "$";
    const m = body === undefined ? null : /^\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/.exec(body);
    if (!m) throw new Error(`'${match}' in ${COMPOSE_FILE}: only \${NAME}, \${NAME:-default} and $$ (a literal $) are interpolated here`);
    const value = vars[m[1] as string];
    if (value !== undefined && value !== "") return value;
    if (m[2] !== undefined) return m[2];
    throw new Error(`'${match}' in ${COMPOSE_FILE}: ${m[1]} has no value and no default`);
  });
}

function interpolateDeep(value: unknown, vars: Readonly<Record<string, string>>): unknown {
  if (typeof value === "string") return interpolate(value, vars);
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, vars));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, vars)]));
  return value;
}

/**
 * The compose file with `vars` standing for the shell's environment that `docker compose`
 * interpolates from (never this process's own environment: the tests decide every value).
 */
export function loadCompose(vars: Readonly<Record<string, string>> = {}): ComposeFile {
  const raw: unknown = parse(readFileSync(COMPOSE_FILE, "utf8"), { merge: true });
  const parsed = composeSchema.safeParse(interpolateDeep(raw, vars));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${COMPOSE_FILE}: ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

export function service(compose: ComposeFile, name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`${COMPOSE_FILE} has no service '${name}' (services: ${Object.keys(compose.services).join(", ")})`);
  return found;
}

/** The services built from the repository's Dockerfile: Facet's own roles and commands. */
export function facetServiceNames(compose: ComposeFile): string[] {
  return Object.entries(compose.services)
    .filter(([, s]) => s.build !== undefined)
    .map(([name]) => name);
}

/** A service that runs to its end (a setup step), rather than one kept running and restarted. */
export function isOneShot(s: ComposeService): boolean {
  return s.restart === undefined || s.restart === "no";
}

/** What a Facet container executes: its entrypoint (the image's unless overridden), then its command. */
export function containerArgv(s: ComposeService): string[] {
  return [...(s.entrypoint ?? IMAGE_ENTRYPOINT), ...(s.command ?? [])];
}

/**
 * Every `facet` command line a Facet service runs, as argument lists (`["db", "migrate"]`): its
 * command under the image's entrypoint, or each `node bin/facet.mjs …` of its `sh -c` script,
 * up to the first shell operator.
 */
export function facetInvocations(s: ComposeService): string[][] {
  const argv = containerArgv(s);
  if (argv.slice(0, IMAGE_ENTRYPOINT.length).join(" ") === IMAGE_ENTRYPOINT.join(" ")) return [argv.slice(IMAGE_ENTRYPOINT.length)];
  if (argv[0] !== "/bin/sh" || argv[1] !== "-c" || argv.length !== 3) throw new Error(`unexpected entrypoint ${JSON.stringify(argv.slice(0, 2))}: the image's, or ["/bin/sh", "-c"] with one script`);
  const script = argv[2] as string;
  return [...script.matchAll(/node bin\/facet\.mjs ([^|;&)\n]*)/g)].map((m) => (m[1] as string).trim().split(/\s+/));
}

/** The buckets minio-setup's `mc mb` creates, without the alias (`local/photos` → `photos`). */
export function bucketsCreated(s: ComposeService): string[] {
  const [verb, ...args] = s.command ?? [];
  if (verb !== "mb") throw new Error(`minio-setup's command is ${JSON.stringify(s.command)}, not mc mb`);
  return args.filter((a) => !a.startsWith("-")).map((a) => a.slice(a.indexOf("/") + 1));
}

/**
 * The services of `names` in an order that starts each after everything it depends on (only
 * dependencies among `names` count); throws on a cycle.
 */
export function startOrder(compose: ComposeFile, names: readonly string[]): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string, path: readonly string[]) => {
    if (order.includes(name)) return;
    if (visiting.has(name)) throw new Error(`depends_on cycle: ${[...path, name].join(" → ")}`);
    visiting.add(name);
    for (const dep of Object.keys(service(compose, name).depends_on ?? {})) if (names.includes(dep)) visit(dep, [...path, name]);
    visiting.delete(name);
    order.push(name);
  };
  for (const name of names) visit(name, []);
  return order;
}

/** A bind mount's source resolved against this folder, and its target; undefined for a named volume. */
export function bindMount(spec: string): { source: string; target: string; readOnly: boolean } | undefined {
  const [source, target, mode] = spec.split(":");
  if (source === undefined || target === undefined || !/^\.{1,2}\/|^\//.test(source)) return undefined;
  return { source: path.resolve(COMPOSE_DIR, source), target, readOnly: mode === "ro" };
}
