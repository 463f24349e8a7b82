/**
 * Checks an exported bundle against the PyTorch outputs the export recorded
 * (`export-check.json`): the same inputs through onnxruntime must give the same outputs.
 * Run by models/training/facet_train/export.py; exits 1 on any mismatch, so the export fails.
 *
 *   tsx models/runtime/verify-export.ts --bundle DIR --check FILE [--atol 1e-4] [--rtol 1e-4]
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { loadBundle } from "./bundle.js";

interface Recorded {
  shape: number[];
  data: number[];
}
interface Case {
  inputs: Record<string, Recorded>;
  outputs: Record<string, Recorded>;
}

const INT64_INPUTS = new Set(["tokens"]);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      bundle: { type: "string" },
      check: { type: "string" },
      atol: { type: "string", default: "1e-4" },
      rtol: { type: "string", default: "1e-4" },
    },
  });
  if (!values.bundle || !values.check) {
    console.error("usage: verify-export --bundle DIR --check export-check.json [--atol 1e-4] [--rtol 1e-4]");
    return 2;
  }
  const atol = Number(values.atol);
  const rtol = Number(values.rtol);
  const file = JSON.parse(await readFile(values.check, "utf8")) as Record<string, unknown>;
  // Cases are the entries with inputs and outputs; other keys (e.g. "tolerance") are metadata.
  const cases = Object.fromEntries(
    Object.entries(file).filter(([, v]) => typeof v === "object" && v !== null && "inputs" in v && "outputs" in v),
  ) as Record<string, Case>;
  if (Object.keys(cases).length === 0) throw new Error(`${values.check}: no cases (entries with inputs and outputs)`);
  const bundle = await loadBundle(values.bundle);
  let failures = 0;
  try {
    for (const [name, c] of Object.entries(cases)) {
      const session = name.startsWith("encoder") ? bundle.encoder : bundle.decoder;
      const feeds: Record<string, ort.Tensor> = {};
      for (const [input, r] of Object.entries(c.inputs)) {
        feeds[input] = INT64_INPUTS.has(input)
          ? new ort.Tensor("int64", BigInt64Array.from(r.data, (v) => BigInt(v)), r.shape)
          : new ort.Tensor("float32", Float32Array.from(r.data), r.shape);
      }
      const got = await session.run(feeds);
      for (const [output, want] of Object.entries(c.outputs)) {
        const tensor = got[output] as ort.Tensor | undefined;
        if (!tensor) {
          console.error(`${name}.${output}: missing from the ONNX outputs`);
          failures++;
          continue;
        }
        if (tensor.dims.join(",") !== want.shape.join(",")) {
          console.error(`${name}.${output}: shape [${tensor.dims}] but PyTorch gave [${want.shape}]`);
          failures++;
          continue;
        }
        const data = tensor.data as Float32Array;
        let worst = 0;
        let worstAt = 0;
        let bad = 0;
        want.data.forEach((w, i) => {
          const diff = Math.abs((data[i] as number) - w);
          if (diff > atol + rtol * Math.abs(w)) bad++;
          if (diff > worst) [worst, worstAt] = [diff, i];
        });
        const verdict = bad === 0 ? "ok" : `MISMATCH in ${bad} of ${want.data.length} values`;
        console.log(`${name}.${output} [${want.shape}]: max |onnx - torch| = ${worst.toExponential(2)} at ${worstAt}: ${verdict}`);
        if (bad > 0) failures++;
      }
    }
  } finally {
    await bundle.close();
  }
  if (failures > 0) console.error(`export check failed: ${failures} output(s) differ beyond atol=${atol}, rtol=${rtol}`);
  return failures > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`export check failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
