import type { MetalPainter } from "./metal-paint.js";
import { ellipsePath, n, polyline, resample, type Pt } from "./svg-kit.js";

export type ChainStyle = "cable chain" | "rope chain" | "box chain";

/**
 * A chain along a polyline. Each style is drawn as a few long paths (not one element
 * per link) so a necklace stays cheap to rasterise:
 * - cable: open oval links alternating with links seen edge-on;
 * - rope: a solid twisted cord with slanted strand lines;
 * - box: square hollow links on a flat core.
 * `linkLength` and `thickness` are in piece units.
 */
export function chain(
  painter: MetalPainter,
  points: readonly Pt[],
  style: ChainStyle,
  linkLength: number,
  thickness: number,
): string {
  const t = thickness;
  switch (style) {
    case "cable chain": {
      const links = resample(points, linkLength * 0.82);
      let open = "";
      let edge = "";
      links.forEach((p, i) => {
        const deg = (p.angle * 180) / Math.PI;
        if (i % 2 === 0) open += ellipsePath(p.x, p.y, linkLength * 0.56, linkLength * 0.34, deg);
        else edge += ellipsePath(p.x, p.y, linkLength * 0.58, t * 0.62, deg);
      });
      return painter.stroke(open, t) + (edge ? painter.fill(edge, t * 0.3) : "");
    }
    case "rope chain": {
      const core = polyline(points);
      let dark = "";
      let light = "";
      for (const p of resample(points, t * 0.9)) {
        const c = Math.cos(p.angle);
        const s = Math.sin(p.angle);
        // A strand crossing the cord at ~50 degrees to its direction.
        const ax = -t * 0.55;
        const ay = -t * 1.05;
        const x1 = p.x + ax * c - ay * s;
        const y1 = p.y + ax * s + ay * c;
        const x2 = p.x - ax * c + ay * s;
        const y2 = p.y - ax * s - ay * c;
        dark += `M${n(x1)} ${n(y1)}L${n(x2)} ${n(y2)}`;
        const ox = t * 0.3 * c;
        const oy = t * 0.3 * s;
        light += `M${n(x1 + ox)} ${n(y1 + oy)}L${n(x2 + ox)} ${n(y2 + oy)}`;
      }
      return (
        painter.stroke(core, t * 2.1) +
        `<path d="${dark}" stroke="${painter.palette.dark}" stroke-opacity="0.7" stroke-width="${n(t * 0.3)}" stroke-linecap="round"/>` +
        `<path d="${light}" stroke="${painter.palette.spec}" stroke-opacity="0.55" stroke-width="${n(t * 0.22)}" stroke-linecap="round"/>`
      );
    }
    case "box chain": {
      const core = polyline(points);
      let boxes = "";
      let holes = "";
      for (const p of resample(points, t * 1.9)) {
        boxes += square(p.x, p.y, t * 0.95, p.angle);
        holes += square(p.x, p.y, t * 0.42, p.angle);
      }
      return (
        painter.stroke(core, t * 1.6, "butt") +
        `<path d="${boxes}" fill="none" stroke="${painter.palette.dark}" stroke-opacity="0.85" stroke-width="${n(t * 0.22)}"/>` +
        `<path d="${holes}" fill="${painter.palette.dark}" fill-opacity="0.75"/>`
      );
    }
  }
}

function square(cx: number, cy: number, half: number, angle: number): string {
  const c = Math.cos(angle) * half;
  const s = Math.sin(angle) * half;
  return (
    `M${n(cx - c + s)} ${n(cy - s - c)}L${n(cx + c + s)} ${n(cy + s - c)}` +
    `L${n(cx + c - s)} ${n(cy + s + c)}L${n(cx - c - s)} ${n(cy - s + c)}Z`
  );
}
