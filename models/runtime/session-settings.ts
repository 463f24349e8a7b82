import type * as ort from "onnxruntime-node";

/** Where and how the ONNX graphs run. */
export interface SessionSettings {
  /**
   * `cpu` (default) or `cuda`. CUDA needs onnxruntime-node's CUDA binaries, installed with
   * `onnxruntime-node-install=cuda12` in `.npmrc`; CPU stays as the fallback provider.
   */
  executionProvider: "cpu" | "cuda";
  /** CUDA device ordinal when executionProvider is `cuda`. Default 0. */
  cudaDeviceId?: number;
  /**
   * Threads inside one operator (GEMM, convolution). Default 1: the demo model's operators
   * are small, so a second thread gained under 5% in `npm run bench:model` on 2 cores (and
   * lowered the cache's decoding speed-up, since one-token steps barely parallelise), while
   * it takes a core from photo decoding. A `run` call executes on the thread that makes it, so
   * workers use more cores with inference threads (INFERENCE_THREADS, each with its own
   * sessions; see inference-engine.ts) or more worker processes.
   */
  intraOpThreads?: number;
  /** Threads running independent operators in parallel. Default 1: the graphs are sequential. */
  interOpThreads?: number;
}

export const DEFAULT_INTRA_OP_THREADS = 1;

export const DEFAULT_SESSION_SETTINGS: SessionSettings = { executionProvider: "cpu" };

export function toSessionOptions(settings: SessionSettings): ort.InferenceSession.SessionOptions {
  const providers: ort.InferenceSession.ExecutionProviderConfig[] =
    settings.executionProvider === "cuda" ? [{ name: "cuda", deviceId: settings.cudaDeviceId ?? 0 }, "cpu"] : ["cpu"];
  return {
    executionProviders: providers,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    interOpNumThreads: settings.interOpThreads ?? 1,
    intraOpNumThreads: settings.intraOpThreads ?? DEFAULT_INTRA_OP_THREADS,
    logSeverityLevel: 3,
  };
}
