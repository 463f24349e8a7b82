import type { FacetConfig } from "../shared/config/config.js";
import type { Logger } from "../shared/logging/logger.js";
import type { ObjectStore } from "../shared/storage/object-store.js";
import { createModelCache, type ModelCache, type ModelCacheOptions } from "../workers/model-cache.js";

/**
 * The model cache `facet worker` and `facet serve` run the model through, from the config's
 * MODEL_CACHE_DIR, session, thread and engine settings. Its own module: only the commands that
 * run the model import the model runtime.
 */
export function modelCacheFromConfig(c: FacetConfig, source: ObjectStore, logger: Logger, onLoad?: ModelCacheOptions["onLoad"]): ModelCache {
  return createModelCache({
    source,
    cacheDir: c.MODEL_CACHE_DIR,
    settings: { executionProvider: c.EXECUTION_PROVIDER, intraOpThreads: c.ORT_INTRA_OP_THREADS },
    inferenceThreads: c.INFERENCE_THREADS,
    engine: { batchSize: c.BATCH_SIZE, review: { threshold: c.REVIEW_THRESHOLD, attributes: c.REVIEW_ATTRIBUTES } },
    preprocess: { maxInputPixels: c.MAX_INPUT_PIXELS },
    logger,
    ...(onLoad ? { onLoad } : {}),
  });
}
