import type { Gemstone, Setting } from "./attributes.js";
import type { MetalPainter } from "./metal-paint.js";
import { GEM_PALETTES, PEARL } from "./palette.js";
import type { Random } from "./random.js";
import { circlePath, n, polyline, type Pt } from "./svg-kit.js";

/** Stones smaller than this (piece units) are drawn without facets. */
const SMALL_STONE = 30;

export const STONE_SHAPES = ["round", "oval", "square", "emerald", "cushion"] as const;
export type StoneShape = (typeof STONE_SHAPES)[number];
export type Stone = Exclude<Gemstone, "none">;

/** `<defs>` for stones (the pearl's lustre). */
export function gemDefs(lightAngleDeg: number): string {
  const a = (lightAngleDeg * Math.PI) / 180;
  return (
    `<radialGradient id="pearl" fx="${n(0.5 + 0.3 * Math.cos(a))}" fy="${n(0.5 + 0.3 * Math.sin(a))}" r="0.55">` +
    `<stop offset="0" stop-color="${PEARL.highlight}"/><stop offset="0.45" stop-color="${PEARL.body}"/>` +
    `<stop offset="0.85" stop-color="${PEARL.edge}"/><stop offset="1" stop-color="${PEARL.outline}"/></radialGradient>`
  );
}

/**
 * One stone of radius `r`, faceted: an outline polygon, a table, and the facets
 * between them shaded by how they face the light. Pearls are smooth spheres.
 */
export function stone(
  gem: Stone,
  cx: number,
  cy: number,
  r: number,
  shape: StoneShape,
  lightAngleDeg: number,
  detail: Random,
): string {
  const la = (lightAngleDeg * Math.PI) / 180;
  if (gem === "pearl") {
    return (
      `<path d="${circlePath(cx, cy, r)}" fill="url(#pearl)" stroke="${PEARL.outline}" stroke-width="${n(r * 0.05)}"/>` +
      `<path d="${circlePath(cx - r * 0.15 * Math.cos(la), cy - r * 0.15 * Math.sin(la), r * 0.55)}" fill="${PEARL.sheen}" fill-opacity="0.22"/>` +
      `<ellipse cx="${n(cx + r * 0.38 * Math.cos(la))}" cy="${n(cy + r * 0.38 * Math.sin(la))}" rx="${n(r * 0.2)}" ry="${n(r * 0.12)}" fill="#ffffff" fill-opacity="0.85" transform="rotate(${n(lightAngleDeg + 90)} ${n(cx + r * 0.38 * Math.cos(la))} ${n(cy + r * 0.38 * Math.sin(la))})"/>`
    );
  }
  const pal = GEM_PALETTES[gem];
  const outline = outlinePoints(shape, cx, cy, r);
  if (r < SMALL_STONE) {
    // Accent stones (halo, cluster, stations): facets would be sub-pixel, so a shaded
    // body, a bright table and an outline carry the colour at a fraction of the cost.
    const table = outline.map((p) => ({ x: cx + (p.x - cx) * 0.5 + r * 0.12 * Math.cos(la), y: cy + (p.y - cy) * 0.5 + r * 0.12 * Math.sin(la) }));
    return (
      `<path d="${polyline(outline, true)}" fill="${pal.base}" stroke="${pal.outline}" stroke-width="${n(Math.max(1, r * 0.12))}" stroke-linejoin="round"/>` +
      `<path d="${polyline(table, true)}" fill="${gem === "diamond" ? "#ffffff" : pal.light}" fill-opacity="0.8"/>`
    );
  }
  const tableScale = shape === "emerald" || shape === "square" ? 0.62 : 0.52;
  const table = outline.map((p) => ({ x: cx + (p.x - cx) * tableScale, y: cy + (p.y - cy) * tableScale }));
  const levels = [pal.dark, pal.base, pal.light];
  let svg = `<path d="${polyline(outline, true)}" fill="${pal.base}"/>`;
  for (let i = 0; i < outline.length; i++) {
    const j = (i + 1) % outline.length;
    const a = outline[i] as Pt;
    const b = outline[j] as Pt;
    const mid = Math.atan2((a.y + b.y) / 2 - cy, (a.x + b.x) / 2 - cx);
    const facing = Math.cos(mid - la); // 1 = toward the light
    // Alternate facets by one shade so the stone sparkles rather than shades smoothly.
    const level = Math.max(0, Math.min(2, Math.round(1 + facing * 0.9 + (i % 2 === 0 ? 0.45 : -0.45))));
    svg += `<path d="${polyline([a, b, table[j] as Pt, table[i] as Pt], true)}" fill="${levels[level]}"/>`;
  }
  const tableFill = gem === "diamond" ? "#eef4fb" : pal.base;
  svg += `<path d="${polyline(table, true)}" fill="${tableFill}" stroke="${pal.light}" stroke-opacity="0.7" stroke-width="${n(r * 0.04)}"/>`;
  // A light wash over the upper-light half of the table.
  svg += `<path d="${circlePath(cx + r * 0.22 * Math.cos(la), cy + r * 0.22 * Math.sin(la), r * 0.22)}" fill="${pal.light}" fill-opacity="0.55"/>`;
  svg += `<path d="${polyline(outline, true)}" fill="none" stroke="${pal.outline}" stroke-width="${n(Math.max(1, r * 0.07))}" stroke-linejoin="round"/>`;
  if (gem === "diamond" || detail.chance(0.5)) svg += sparkle(cx, cy, r, detail);
  return svg;
}

function outlinePoints(shape: StoneShape, cx: number, cy: number, r: number): Pt[] {
  const ring = (count: number, sx: number, sy: number, phase: number): Pt[] => {
    const pts: Pt[] = [];
    for (let i = 0; i < count; i++) {
      const t = phase + (2 * Math.PI * i) / count;
      pts.push({ x: cx + r * sx * Math.cos(t), y: cy + r * sy * Math.sin(t) });
    }
    return pts;
  };
  switch (shape) {
    case "round":
      return ring(12, 1, 1, 0);
    case "oval":
      return ring(12, 0.8, 1.08, 0);
    case "cushion":
      return ring(8, 1, 1, Math.PI / 8);
    case "square":
      return ring(4, 1.05, 1.05, Math.PI / 4);
    case "emerald": {
      const w = r * 0.78;
      const h = r * 1.05;
      const c = r * 0.25;
      return [
        { x: cx - w + c, y: cy - h },
        { x: cx + w - c, y: cy - h },
        { x: cx + w, y: cy - h + c },
        { x: cx + w, y: cy + h - c },
        { x: cx + w - c, y: cy + h },
        { x: cx - w + c, y: cy + h },
        { x: cx - w, y: cy + h - c },
        { x: cx - w, y: cy - h + c },
      ];
    }
  }
}

function sparkle(cx: number, cy: number, r: number, detail: Random): string {
  const x = cx + detail.range(-0.4, 0.4) * r;
  const y = cy + detail.range(-0.4, 0.4) * r;
  const s = r * detail.range(0.35, 0.6);
  const w = s * 0.14;
  return (
    `<path d="M${n(x - s)} ${n(y)}L${n(x - w)} ${n(y - w)}L${n(x)} ${n(y - s)}L${n(x + w)} ${n(y - w)}` +
    `L${n(x + s)} ${n(y)}L${n(x + w)} ${n(y + w)}L${n(x)} ${n(y + s)}L${n(x - w)} ${n(y + w)}Z" fill="#ffffff" fill-opacity="0.9"/>`
  );
}

/** What a setting needs to draw its stones and metal. */
export interface MountContext {
  gem: Stone;
  setting: Exclude<Setting, "none">;
  shape: StoneShape;
  painter: MetalPainter;
  lightAngleDeg: number;
  detail: Random;
}

/**
 * A stone in its setting, filling a disc of radius `R` so every setting of the same
 * size occupies the same footprint: solitaire (one stone on prongs), halo (centre
 * stone ringed by small diamonds on a metal plate), bezel (stone in a metal rim),
 * cluster (several stones of the same kind grouped).
 */
export function mountedStone(m: MountContext, cx: number, cy: number, R: number): string {
  const one = (x: number, y: number, r: number, shape: StoneShape, gem: Stone = m.gem): string =>
    stone(gem, x, y, r, shape, m.lightAngleDeg, m.detail);
  switch (m.setting) {
    case "solitaire": {
      let svg = one(cx, cy, R, m.shape);
      if (m.gem === "pearl") return m.painter.ball(cx, cy - R * 0.95, R * 0.2) + svg;
      const prongs = m.shape === "round" || m.shape === "oval" ? 6 : 4;
      for (let i = 0; i < prongs; i++) {
        const t = Math.PI / prongs + (2 * Math.PI * i) / prongs;
        svg += m.painter.ball(cx + R * 0.93 * Math.cos(t), cy + R * 0.93 * Math.sin(t), R * 0.15);
      }
      return svg;
    }
    case "halo": {
      let svg = m.painter.fill(circlePath(cx, cy, R), Math.max(2, R * 0.04));
      const count = 16;
      for (let i = 0; i < count; i++) {
        const t = (2 * Math.PI * i) / count;
        svg += stone("diamond", cx + R * 0.83 * Math.cos(t), cy + R * 0.83 * Math.sin(t), R * 0.14, "round", m.lightAngleDeg, m.detail);
      }
      return svg + one(cx, cy, R * 0.65, m.shape === "emerald" ? "cushion" : m.shape);
    }
    case "bezel": {
      const r = R * 0.8;
      return one(cx, cy, r, m.shape === "emerald" || m.shape === "square" ? "cushion" : m.shape === "oval" ? "round" : m.shape) +
        m.painter.stroke(circlePath(cx, cy, R * 0.88), R * 0.22);
    }
    case "cluster": {
      let svg = m.painter.fill(circlePath(cx, cy, R * 0.96), Math.max(2, R * 0.04));
      const count = 6;
      for (let i = 0; i < count; i++) {
        const t = Math.PI / 6 + (2 * Math.PI * i) / count;
        svg += one(cx + R * 0.62 * Math.cos(t), cy + R * 0.62 * Math.sin(t), R * 0.32, "round");
      }
      return svg + one(cx, cy, R * 0.36, "round");
    }
  }
}
