import { DEMO_MODEL_DIR } from "../../cli/commands/describe.js";
import { loadBundle, type ModelBundle } from "../../models/runtime/bundle.js";
import type { BundleSpec } from "../../models/runtime/bundle-spec.js";
import { createPreprocessor, type Preprocessor } from "../../models/runtime/preprocessor.js";
import { startThreadedEngine, type InferenceEngine } from "../../models/runtime/inference-engine.js";
import { DEFAULT_SESSION_SETTINGS } from "../../models/runtime/session-settings.js";
import type { ModelProvider } from "../../workers/describe-processor.js";

/**
 * A ModelProvider serving the repository's demo bundle for any version (tests without a
 * model store), inferring on one thread as a worker does.
 */
export function demoModelProvider(): ModelProvider & { close(): Promise<void> } {
  let loading: Promise<{ bundle: ModelBundle; spec: BundleSpec; preprocessor: Preprocessor; engine: InferenceEngine }> | undefined;
  return {
    async acquire() {
      loading ??= Promise.all([loadBundle(DEMO_MODEL_DIR), startThreadedEngine(DEMO_MODEL_DIR, DEFAULT_SESSION_SETTINGS, 1)]).then(([bundle, engine]) => ({
        bundle,
        spec: bundle,
        preprocessor: createPreprocessor(bundle.manifest),
        engine,
      }));
      return { ...(await loading), release() {} };
    },
    async close() {
      if (!loading) return;
      const { bundle, engine } = await loading;
      await Promise.all([engine.close(), bundle.close()]);
    },
  };
}
