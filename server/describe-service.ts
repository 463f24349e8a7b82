import type { ProductDescription } from "../models/runtime/describer.js";
import { withSellerFacts } from "../models/review/seller-review.js";
import type { ModelCache, ModelLease } from "../workers/model-cache.js";
import { MicroBatcher } from "../workers/micro-batcher.js";
import type { PreparedProduct } from "../models/runtime/preprocessor.js";

/**
 * `POST /v1/describe`'s model side: photos from many concurrent requests are prepared on this
 * thread and described in shared micro-batches, through the same `MicroBatcher` and inference
 * threads a worker uses (workers/model-cache.ts), so at 64 requests at once the model sees
 * batches, not 64 separate calls.
 */
export interface DescribeServiceOptions {
  models: ModelCache;
  /** The version served (`latest` is resolved once, at start). */
  version: string;
  /** Most products per model call (BATCH_SIZE). */
  batchSize: number;
  /** Longest the first request of a partial batch waits for company, ms (SERVE_BATCH_MAX_WAIT_MS). */
  batchMaxWaitMs: number;
}

/** One request's product: its photos' bytes (primary first) and what the artisan wrote, if anything. */
export interface DescribeRequest {
  id: string;
  photos: readonly Uint8Array[];
  text?: string;
}

export interface DescribeService {
  /** The concrete version served. */
  readonly version: string;
  /** The served model's attributes and the labels each may take (what a reviewer may correct a label to). */
  readonly attributes: ReadonlyArray<{ name: string; labels: readonly string[] }>;
  /** Describe one product; throws the preprocessor's PhotoError (naming the photo) for a photo it cannot use. */
  describe(request: DescribeRequest): Promise<ProductDescription>;
  close(): Promise<void>;
}

/** Hold the served version for the server's life and batch every request's product through it. */
export async function startDescribeService(options: DescribeServiceOptions): Promise<DescribeService> {
  const lease: ModelLease = await options.models.acquire(options.version);
  const { engine, preprocessor } = lease;
  const batcher = new MicroBatcher<PreparedProduct, ProductDescription>({
    maxSize: options.batchSize,
    maxWaitMs: options.batchMaxWaitMs,
    maxInFlight: engine.parallelism + 1,
    partialBelow: engine.parallelism,
    run: (products) => engine.infer(products),
  });
  return {
    version: lease.version,
    attributes: lease.spec.manifest.attributes,
    async describe(request) {
      const prepared = await preprocessor.preprocess({ id: request.id, photos: request.photos });
      const described = await batcher.submit(prepared);
      return request.text === undefined ? described : withSellerFacts(described, { texts: [request.text] });
    },
    async close() {
      await batcher.flush();
      lease.release();
    },
  };
}
