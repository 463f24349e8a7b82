/** Small helpers for writing SVG by hand. */

export interface Pt {
  x: number;
  y: number;
}

/** A number for SVG output: one decimal keeps documents small and deterministic. */
export function n(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? "0" : String(r);
}

/** `M x y L x y ...` through the points, optionally closed. */
export function polyline(points: readonly Pt[], closed = false): string {
  let d = "";
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Pt;
    d += `${i === 0 ? "M" : "L"}${n(p.x)} ${n(p.y)}`;
  }
  return closed ? d + "Z" : d;
}

/** A closed ellipse as a path (two arcs), rotated by `rotDeg`. */
export function ellipsePath(cx: number, cy: number, rx: number, ry: number, rotDeg = 0): string {
  const a = (rotDeg * Math.PI) / 180;
  const dx = rx * Math.cos(a);
  const dy = rx * Math.sin(a);
  return (
    `M${n(cx - dx)} ${n(cy - dy)}` +
    `A${n(rx)} ${n(ry)} ${n(rotDeg)} 1 0 ${n(cx + dx)} ${n(cy + dy)}` +
    `A${n(rx)} ${n(ry)} ${n(rotDeg)} 1 0 ${n(cx - dx)} ${n(cy - dy)}Z`
  );
}

export function circlePath(cx: number, cy: number, r: number): string {
  return ellipsePath(cx, cy, r, r);
}

/** Points of an ellipse from angle `from` to `to` (radians, 0 = right, clockwise on screen). */
export function ellipsePoints(
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  from: number,
  to: number,
  steps: number,
): Pt[] {
  const pts: Pt[] = [];
  for (let i = 0; i <= steps; i++) {
    const t = from + ((to - from) * i) / steps;
    pts.push({ x: cx + rx * Math.cos(t), y: cy + ry * Math.sin(t) });
  }
  return pts;
}

/** Points spaced `step` apart along a polyline, with the tangent angle at each. */
export function resample(points: readonly Pt[], step: number): Array<Pt & { angle: number }> {
  const out: Array<Pt & { angle: number }> = [];
  let carry = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1] as Pt;
    const b = points[i] as Pt;
    const len = Math.hypot(b.x - a.x, b.y - a.y);
    if (len === 0) continue;
    const angle = Math.atan2(b.y - a.y, b.x - a.x);
    let t = carry;
    while (t <= len) {
      out.push({ x: a.x + ((b.x - a.x) * t) / len, y: a.y + ((b.y - a.y) * t) / len, angle });
      t += step;
    }
    carry = t - len;
  }
  return out;
}

/** Total length of a polyline. */
export function pathLength(points: readonly Pt[]): number {
  let len = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1] as Pt;
    const b = points[i] as Pt;
    len += Math.hypot(b.x - a.x, b.y - a.y);
  }
  return len;
}

/** The point at fraction `f` (0..1) of a polyline's length. */
export function pointAt(points: readonly Pt[], f: number): Pt {
  const target = pathLength(points) * Math.min(1, Math.max(0, f));
  let walked = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1] as Pt;
    const b = points[i] as Pt;
    const len = Math.hypot(b.x - a.x, b.y - a.y);
    if (walked + len >= target && len > 0) {
      const t = (target - walked) / len;
      return { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t };
    }
    walked += len;
  }
  return points[points.length - 1] ?? { x: 0, y: 0 };
}

/** Escapes nothing: all our attribute values are numbers and hex colours we write ourselves. */
export function attrs(a: Record<string, string | number>): string {
  let s = "";
  for (const [k, v] of Object.entries(a)) s += ` ${k}="${typeof v === "number" ? n(v) : v}"`;
  return s;
}
