import type { BackgroundSpec } from "./photo-spec.js";
import { Random } from "./random.js";
import { n } from "./svg-kit.js";

/**
 * The surface a piece is photographed on, drawn over the whole W x H frame (in
 * output pixels). Built from a handful of long paths and one pattern, never from
 * per-pixel work or SVG filters, so it rasterises quickly at any size.
 */
export function backgroundSvg(bg: BackgroundSpec, width: number, height: number, seed: number): { defs: string; body: string } {
  const rng = Random.from(seed, "background");
  const [base, accent, accent2] = bg.colors;
  const diag = Math.hypot(width, height);
  const unit = Math.min(width, height) / 500;
  const rect = (fill: string, extra = ""): string => `<rect width="${width}" height="${height}" fill="${fill}"${extra}/>`;
  // Decorations are drawn in a square around the frame, turned by the spec's angle.
  const turned = (inner: string): string =>
    `<g transform="translate(${n(width / 2)} ${n(height / 2)}) rotate(${n(bg.angleDeg)}) translate(${n(-diag / 2)} ${n(-diag / 2)})">${inner}</g>`;

  switch (bg.kind) {
    case "transparent":
      return { defs: "", body: "" };
    case "white":
      return { defs: "", body: rect(base) };
    case "gradient": {
      const defs = bg.radial
        ? `<radialGradient id="bgg" cx="${n(rng.range(0.35, 0.65))}" cy="${n(rng.range(0.3, 0.6))}" r="0.75"><stop offset="0" stop-color="${base}"/><stop offset="1" stop-color="${accent}"/></radialGradient>`
        : `<linearGradient id="bgg" gradientTransform="rotate(${n(bg.angleDeg)} 0.5 0.5)"><stop offset="0" stop-color="${base}"/><stop offset="1" stop-color="${accent}"/></linearGradient>`;
      return { defs, body: rect("url(#bgg)") };
    }
    case "marble": {
      let veins = "";
      const count = rng.int(3, 7);
      for (let i = 0; i < count; i++) {
        let x = 0;
        let y = rng.range(0, diag);
        let d = `M${n(x)} ${n(y)}`;
        while (x < diag) {
          const nx = x + rng.range(0.08, 0.2) * diag;
          const ny = y + rng.range(-0.12, 0.12) * diag;
          d += `Q${n((x + nx) / 2 + rng.range(-0.05, 0.05) * diag)} ${n((y + ny) / 2 + rng.range(-0.08, 0.08) * diag)} ${n(nx)} ${n(ny)}`;
          x = nx;
          y = ny;
        }
        const color = rng.chance(0.6) ? accent : accent2;
        veins += `<path d="${d}" fill="none" stroke="${color}" stroke-opacity="${n(rng.range(0.25, 0.65))}" stroke-width="${n(rng.range(0.6, 4) * unit)}"/>`;
      }
      let clouds = "";
      for (let i = 0; i < 4; i++) {
        clouds += `<ellipse cx="${n(rng.range(0, diag))}" cy="${n(rng.range(0, diag))}" rx="${n(rng.range(0.1, 0.3) * diag)}" ry="${n(rng.range(0.05, 0.15) * diag)}" fill="${accent2}" fill-opacity="0.12"/>`;
      }
      return { defs: "", body: rect(base) + turned(clouds + veins) };
    }
    case "wood": {
      let grain = "";
      const lines = rng.int(28, 48);
      for (let i = 0; i < lines; i++) {
        const y0 = (diag * (i + rng.range(0, 0.8))) / lines;
        const amp = rng.range(0.002, 0.012) * diag;
        let d = `M0 ${n(y0)}`;
        const segs = 4;
        for (let s = 1; s <= segs; s++) {
          const x = (diag * s) / segs;
          d += `Q${n(x - diag / segs / 2)} ${n(y0 + rng.sign() * amp)} ${n(x)} ${n(y0 + rng.range(-amp, amp) * 0.5)}`;
        }
        const color = rng.chance(0.65) ? accent : accent2;
        grain += `<path d="${d}" fill="none" stroke="${color}" stroke-opacity="${n(rng.range(0.25, 0.6))}" stroke-width="${n(rng.range(0.4, 2.2) * unit * (diag / lines / 12))}"/>`;
      }
      // Plank seams.
      const planks = rng.int(0, 3);
      for (let i = 1; i <= planks; i++) {
        const y = (diag * i) / (planks + 1);
        grain += `<path d="M0 ${n(y)}H${n(diag)}" stroke="#000000" stroke-opacity="0.3" stroke-width="${n(1.5 * unit)}"/>`;
      }
      return { defs: "", body: rect(base) + turned(grain) };
    }
    case "fabric": {
      // A basket weave from two dashed line sets (patterns cost librsvg several times more).
      const pitch = Math.max(2, rng.range(3, 7) * unit);
      let across = "";
      let down = "";
      for (let y = pitch / 2; y < height + pitch; y += pitch) across += `M0 ${n(y)}H${n(width)}`;
      for (let x = pitch / 2; x < width + pitch; x += pitch) down += `M${n(x)} 0V${n(height)}`;
      const dash = `stroke-dasharray="${n(pitch)} ${n(pitch)}" stroke-width="${n(pitch * 0.7)}"`;
      let folds = "";
      for (let i = 0; i < 3; i++) {
        folds += `<ellipse cx="${n(rng.range(0, diag))}" cy="${n(rng.range(0, diag))}" rx="${n(rng.range(0.3, 0.6) * diag)}" ry="${n(rng.range(0.04, 0.1) * diag)}" fill="${rng.chance(0.5) ? "#ffffff" : "#000000"}" fill-opacity="0.07"/>`;
      }
      return {
        defs: "",
        body:
          rect(base) +
          `<path d="${across}" fill="none" stroke="${accent}" stroke-opacity="0.7" ${dash}/>` +
          `<path d="${down}" fill="none" stroke="${accent2}" stroke-opacity="0.6" ${dash} stroke-dashoffset="${n(pitch)}"/>` +
          turned(folds),
      };
    }
  }
}
