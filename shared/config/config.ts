import { z } from "zod";
import { ConfigError } from "../errors/index.js";
import { DEFAULT_INFERENCE_THREADS } from "../../models/runtime/inference-threads.js";

/**
 * Every setting Facet reads from the environment, read once at start-up and validated.
 * Units are in the names; each default says why it is what it is. An invalid value stops
 * the process with one line naming the variable and the rule (exit 2).
 */
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const store = z
  .string()
  .regex(/^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?|file:\/\/\/.*)$/, "must be s3://bucket[/prefix] or file:///absolute/path");

export const configSchema = z
  .object({
    /** PostgreSQL holding the catalogue view and Facet's ledger. */
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// URL" }).default("postgres://postgres@127.0.0.1:5432/postgres"),
    /** Schema of Facet's own tables (migrations create it). */
    DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/, "must be a lower-case SQL identifier").default("facet"),
    /** The relation (a view the marketplace defines) Facet reads the catalogue through. */
    CATALOGUE_RELATION: z.string().regex(/^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/, "must be [schema.]name").default("facet_demo.catalogue"),
    /**
     * The relation (a view the marketplace defines) `facet dataset export --catalogue` reads training
     * labels from: product_id plus one text column per attribute, null where the marketplace does not say.
     */
    LABELS_RELATION: z.string().regex(/^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/, "must be [schema.]name").default("facet_demo.product_labels"),
    /** The marketplace's function `(product_id text, description text) returns boolean` that apply and rollback call. */
    CATALOGUE_APPLY_FUNCTION: z
      .string()
      .regex(/^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/, "must be [schema.]name")
      .default("facet_demo.apply_description"),
    /** Redis for BullMQ: transport only; nothing is lost if it is flushed. */
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" }).default("redis://127.0.0.1:6379"),
    /** Prefix of every BullMQ key, so several deployments (or tests) share one Redis. */
    QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/, "letters, digits, ':', '_' and '-'").default("facet"),
    /** Where product photos live: an S3 prefix or a local folder (the embedded default). */
    IMAGE_STORE: store.default("file:///var/lib/facet/images"),
    /** Where model bundles live: `<store>/<version>/manifest.json`. */
    MODEL_STORE: store.default("file:///var/lib/facet/models"),
    /** Local folder where workers keep downloaded bundles. */
    MODEL_CACHE_DIR: z.string().startsWith("/", "must be an absolute path").default("/tmp/facet-models"),
    /** Most jobs of one run in Redis at once: Redis memory stays flat whatever the run's size. */
    BACKLOG_PER_RUN: int(1, 1_000_000).default(2000),
    /**
     * How often the producer checks each running run's jobs for ones Redis lost or failed without
     * an outcome, and enqueues them again (producers/lost-jobs.ts), ms: the longest a lost item waits.
     */
    HEAL_INTERVAL_MS: int(100, 3_600_000).default(10_000),
    /** S3-compatible endpoint (MinIO, a test server); unset means AWS. */
    S3_ENDPOINT: z.url().optional(),
    S3_REGION: z.string().min(1).default("us-east-1"),
    /** Path-style addressing, which MinIO and most S3-compatible servers need. */
    S3_FORCE_PATH_STYLE: z.enum(["true", "false"]).default("false").transform((v) => v === "true"),
    /** Most products per model call. 32: the CPU choice of `npm run bench:model`; GPUs want more. */
    BATCH_SIZE: int(1, 1024).default(32),
    /** Longest a partial batch waits for more jobs before running, ms: bounds latency at low load. */
    BATCH_MAX_WAIT_MS: int(0, 60_000).default(200),
    /** Jobs a worker holds at once (fetching, waiting for a batch, in the model). Default three batches. */
    WORKER_CONCURRENCY: int(1, 10_000).optional(),
    /**
     * Inference threads per worker process and model version, each with its own onnxruntime
     * sessions (model calls block their thread, so never the event loop). 0 infers on the
     * main thread. Default 2: chosen by `npm run bench:pipeline` sweeps on 2 cores (README).
     */
    INFERENCE_THREADS: int(0, 64).default(DEFAULT_INFERENCE_THREADS),
    /**
     * Photo requests in flight at once per worker; the rest wait for a slot. Keep it at or below
     * the S3 client's sockets (the SDK's default is 50), so requests do not queue there instead.
     */
    FETCH_CONCURRENCY: int(1, 1024).default(16),
    /** Timeout of one photo request, ms, from when it is sent (time waiting for a slot is not counted). */
    FETCH_TIMEOUT_MS: int(100, 600_000).default(10_000),
    /** Largest photo accepted, pixels (decompression-bomb guard). */
    MAX_INPUT_PIXELS: int(1).default(50_000_000),
    /** onnxruntime execution provider. */
    EXECUTION_PROVIDER: z.enum(["cpu", "cuda"]).default("cpu"),
    /**
     * libvips threads per photo being decoded (sharp.concurrency). Photos are already decoded
     * several at once on libuv's pool (UV_THREADPOOL_SIZE, 4 by default), so more threads per
     * photo mostly contend. Default 1: chosen by `npm run bench:pipeline -- --sweep` (README).
     */
    SHARP_CONCURRENCY: int(1, 64).default(1),
    /** onnxruntime intra-op threads per model call; 1 measured fastest for the demo model (README). */
    ORT_INTRA_OP_THREADS: int(1, 1024).default(1),
    /**
     * Calibrated confidence an attribute needs to be stated in the text and, for REVIEW_ATTRIBUTES,
     * for the result to be applied rather than sent to a person. 0.9: on real photos the fine-tuned
     * bundle's applied products are then 99.3% right in category, for 7.7% sent to review
     * (README, "Confidence you can act on").
     */
    REVIEW_THRESHOLD: z.coerce.number().min(0).max(1).default(0.9),
    /**
     * Attributes whose confidence gates apply, comma-separated. Default category: a description
     * can't be written without it. Any other attribute below the threshold is left out of the text
     * rather than guessed, so what is published never states it; gating on metal too sent 91% of
     * real photos to review (a marketplace labels the metal of few photos, so that head is unsure
     * of most). A head too thinly validated to calibrate never gates.
     */
    REVIEW_ATTRIBUTES: z
      .string()
      .regex(/^[a-z_]+(,[a-z_]+)*$/, "comma-separated attribute names")
      .default("category")
      .transform((v) => v.split(",")),
    /**
     * Fault injection, for tests of the pipeline's healing only: product ids whose job SIGKILLs the
     * worker that takes it (a poison pill), at FAULT_CRASH_STAGE. Empty (default): none.
     */
    FAULT_CRASH_PRODUCTS: z
      .string()
      .default("")
      .transform((v) => new Set(v.split(",").filter((id) => id !== ""))),
    /**
     * Where a FAULT_CRASH_PRODUCTS job kills its worker: `decode` (default), while its photos are
     * decoded, as a decoder crash would; `pickup`, as soon as it is taken, before any journal.
     */
    FAULT_CRASH_STAGE: z.enum(["decode", "pickup"]).default("decode"),
    /**
     * How long a worker's hold on a job lasts without renewal, ms (renewed every half). After a
     * worker dies (SIGKILL, node lost), its jobs return to the queue within about this long.
     */
    WORKER_LOCK_DURATION_MS: int(1000, 3_600_000).default(60_000),
    /** How often workers look for jobs whose holder died, ms. */
    WORKER_STALLED_INTERVAL_MS: int(500, 3_600_000).default(30_000),
    /** SIGTERM: stop taking work and finish what is in flight within this, ms. Kubernetes' grace is 30 s. */
    SHUTDOWN_DEADLINE_MS: int(0, 600_000).default(25_000),
    /** Model version a worker loads as it starts (`latest`, a version, or empty for none): warm before the first job. */
    WORKER_PRELOAD_MODEL: z.string().default("latest"),
    /** `facet serve`: the API's and console's port (`--port` overrides). */
    SERVE_PORT: int(0, 65_535).default(8080),
    /** `facet serve`: the model version it describes uploads with (`latest` is resolved once, at start). */
    SERVE_MODEL: z.string().min(1).default("latest"),
    /** `facet serve`: largest photo file an upload may carry, bytes. Default 10 MiB. */
    SERVE_MAX_PHOTO_BYTES: int(1024, 200 * 1024 * 1024).default(10 * 1024 * 1024),
    /** `facet serve`: longest a request may take, ms. */
    SERVE_REQUEST_TIMEOUT_MS: int(1000, 600_000).default(30_000),
    /** `facet serve`: requests a minute per token (per address without one). */
    SERVE_RATE_PER_MINUTE: int(1, 1_000_000).default(600),
    /**
     * `facet serve`: longest an upload waits for others to share its model call, ms. Short: an
     * artisan is waiting; under load batches fill by themselves while the model is busy.
     */
    SERVE_BATCH_MAX_WAIT_MS: int(0, 10_000).default(5),
    /** Port of /metrics, /healthz and /readyz; 0 disables. */
    METRICS_PORT: int(0, 65_535).default(9464),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .transform((c) => ({ ...c, WORKER_CONCURRENCY: c.WORKER_CONCURRENCY ?? 3 * c.BATCH_SIZE }))
  .superRefine((c, ctx) => {
    if (c.WORKER_CONCURRENCY < c.BATCH_SIZE) {
      ctx.addIssue({
        code: "custom",
        path: ["WORKER_CONCURRENCY"],
        message: `must be at least BATCH_SIZE (${c.BATCH_SIZE}), or batches never fill`,
      });
    }
  });

export type FacetConfig = z.output<typeof configSchema>;

/**
 * Environment variables Facet's deployments set that configSchema does not read: libraries read
 * them. A pod's environment holds these and configSchema's keys, nothing else (deploy/'s tests
 * check every manifest against both lists).
 */
export const LIBRARY_ENV = {
  /** The AWS SDK's credentials, for the S3 photo and model stores (IMAGE_STORE, MODEL_STORE). */
  AWS_ACCESS_KEY_ID: "AWS SDK",
  AWS_SECRET_ACCESS_KEY: "AWS SDK",
  /**
   * libuv's thread pool, where sharp decodes photos (Node's default 4): a worker with more cores
   * than that (a GPU worker, fed by photo decoding) raises it to decode more photos at once.
   */
  UV_THREADPOOL_SIZE: "Node.js (libuv)",
} as const;

/**
 * Parse the environment (only the keys above are read; an empty value counts as unset).
 * An invalid value throws a ConfigError whose one-line message names the variable and the rule.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): FacetConfig {
  const keys = Object.keys(configSchema.in.shape);
  const input = Object.fromEntries(keys.filter((k) => env[k] !== undefined && env[k] !== "").map((k) => [k, env[k]]));
  const parsed = configSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = String(issue?.path[0] ?? "config");
  const value = input[key];
  throw new ConfigError(`${key}${value === undefined ? "" : `=${JSON.stringify(value)}`}: ${issue?.message ?? "invalid"}`);
}
