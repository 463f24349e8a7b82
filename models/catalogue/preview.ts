/**
 * Contact sheet of synthetic products as the model sees them: each photo padded to a
 * square on white and shrunk to 128 px, with its labels underneath.
 *
 *   npx tsx models/catalogue/preview.ts [--seed 1] [--count 24] [--start 0] [--all-photos] [--out catalogue-preview.png]
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import sharp, { type OverlayOptions } from "sharp";
import { generateCatalogue } from "./generate-catalogue.js";

const TILE = 128;
const LABEL_HEIGHT = 30;
const COLUMNS = 8;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: "string", default: "1" },
      count: { type: "string", default: "24" },
      start: { type: "string", default: "0" },
      "all-photos": { type: "boolean", default: false },
      out: { type: "string", default: "catalogue-preview.png" },
    },
  });
  const seed = Number(values.seed);
  const count = Number(values.count);
  const start = Number(values.start);

  const tiles: Array<{ image: Buffer; label: string }> = [];
  for await (const { product, photos } of generateCatalogue({ seed, count, start, concurrency: 2 })) {
    const a = product.attributes;
    const label = `${a.category} · ${a.style}|${a.metal} · ${a.finish}|${a.gemstone}${a.setting === "none" ? "" : " · " + a.setting}`;
    for (const photo of values["all-photos"] ? photos : photos.slice(0, 1)) {
      const image = await sharp(photo)
        .flatten({ background: "#ffffff" })
        .resize(TILE, TILE, { fit: "contain", background: "#ffffff" })
        .png()
        .toBuffer();
      tiles.push({ image, label });
    }
    console.log(`${tiles.length - 1}\t${product.id}\t${label.replaceAll("|", " / ")}\t${product.photos.map((p) => `${p.width}x${p.height} ${p.format} ${p.background.kind}`).join(", ")}`);
  }

  const rows = Math.ceil(tiles.length / COLUMNS);
  const cellH = TILE + LABEL_HEIGHT;
  const composites: OverlayOptions[] = [];
  tiles.forEach((t, i) => {
    const left = (i % COLUMNS) * (TILE + 4);
    const top = Math.floor(i / COLUMNS) * (cellH + 4);
    composites.push({ input: t.image, left, top });
    const lines = t.label.split("|");
    const text = lines
      .map((l, k) => `<text x="2" y="${9 + k * 10}" font-family="sans-serif" font-size="9" fill="#000">${i}: ${escapeXml(l)}</text>`)
      .join("");
    composites.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${TILE}" height="${LABEL_HEIGHT}">${text}</svg>`), left, top: top + TILE });
  });
  const sheet = await sharp({
    create: { width: COLUMNS * (TILE + 4), height: rows * (cellH + 4), channels: 3, background: "#dddddd" },
  })
    .composite(composites)
    .png()
    .toBuffer();
  await writeFile(values.out, sheet);
  console.log(`wrote ${values.out} (${tiles.length} photos)`);
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
