/**
 * How fast the synthetic catalogue plans and renders: products/s, photos/s, CPU time,
 * and the projected time for 10,000 products.
 *
 *   npx tsx bench/bench-catalogue.ts [--seed 99] [--count 1000] [--concurrency 4]
 *
 * CPU seconds are reported next to wall time because the machine is often shared: wall
 * time divided by the cores actually free is the figure to plan with.
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { generateCatalogue } from "../models/catalogue/generate-catalogue.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: "string", default: "99" },
      count: { type: "string", default: "1000" },
      concurrency: { type: "string", default: "4" },
    },
  });
  const count = Number(values.count);
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  let photos = 0;
  let bytes = 0;
  for await (const product of generateCatalogue({ seed: Number(values.seed), count, concurrency: Number(values.concurrency) })) {
    photos += product.photos.length;
    for (const b of product.photos) bytes += b.length;
  }
  const wall = (performance.now() - start) / 1000;
  const cpuUsed = process.cpuUsage(cpuStart);
  const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;
  const per10k = (s: number): string => `${((s / count) * 10_000 / 60).toFixed(1)} min`;
  console.log(
    `${count} products, ${photos} photos, ${(bytes / 1e6).toFixed(1)} MB on ${os.cpus().length} cores (concurrency ${values.concurrency})\n` +
      `wall ${wall.toFixed(1)} s (${(count / wall).toFixed(1)} products/s) -> 10k products: ${per10k(wall)}\n` +
      `cpu  ${cpu.toFixed(1)} s (${((cpu / photos) * 1000).toFixed(1)} ms/photo) -> 10k products: ${per10k(cpu)} of one core`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
