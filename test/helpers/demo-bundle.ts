import { DEMO_MODEL_DIR } from "../../cli/commands/describe.js";
import { loadBundle, type ModelBundle } from "../../models/runtime/bundle.js";
import type { ModelProvider } from "../../workers/describe-processor.js";

/** A ModelProvider serving the repository's demo bundle for any version (tests without a model store). */
export function demoModelProvider(): ModelProvider & { close(): Promise<void> } {
  let loading: Promise<ModelBundle> | undefined;
  return {
    async acquire() {
      loading ??= loadBundle(DEMO_MODEL_DIR);
      return { bundle: await loading, release() {} };
    },
    async close() {
      if (loading) await (await loading).close();
    },
  };
}
