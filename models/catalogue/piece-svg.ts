import type { ProductAttributes, Setting } from "./attributes.js";
import { chain, type ChainStyle } from "./chain-svg.js";
import { gemDefs, mountedStone, STONE_SHAPES, type StoneShape } from "./gem-svg.js";
import { createMetalPainter, type MetalPainter } from "./metal-paint.js";
import { Random } from "./random.js";
import { circlePath, ellipsePath, ellipsePoints, n, pointAt, polyline, type Pt } from "./svg-kit.js";

/**
 * The piece itself, drawn in a 1000 x 1000 box centred on (500, 500) and filling
 * most of it, so the photo's framing alone decides how large it appears.
 *
 * Each category has its own silhouette, chosen to stay recognisable at 128 px:
 * a ring is a band in strong perspective with the stone standing on top; earrings
 * are always a pair; a necklace is a closed loop of fine chain laid flat; a pendant
 * is one large piece hanging from a V of chain that leaves the frame; a bracelet is
 * a near-round loop of chunky chain, a face-on bangle or an open cuff; a brooch is a
 * flat ornament with its pin showing at both ends.
 */
export interface PieceOptions {
  attributes: ProductAttributes;
  /** The product's design seed: the same piece in every photo. */
  designSeed: number;
  /** The photo's seed: sparkles and other per-shot detail. */
  photoSeed: number;
  /** 0 = edge-on .. 1 = face-on, for round pieces. */
  tilt: number;
  lightAngleDeg: number;
  /**
   * How far (piece units, from the centre of `bounds`) the photo's frame reaches once the
   * piece is framed by those bounds. Chains that run out of the picture stop there
   * instead of being drawn for nothing. Default: 3000.
   */
  frameReach?: (bounds: Bounds) => number;
}

/** An axis-aligned box in piece units. */
export interface Bounds {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface PieceSvg {
  defs: string;
  body: string;
  /** Where the piece's visible mass lies (chains leaving the frame excluded), for framing. */
  bounds: Bounds;
}

export function pieceSvg(o: PieceOptions): PieceSvg {
  const painter = createMetalPainter(o.attributes.metal, o.attributes.finish, o.lightAngleDeg);
  const design = new Random(o.designSeed);
  const detail = Random.from(o.photoSeed, "piece");
  const shape: StoneShape = o.attributes.gemstone === "pearl" ? "round" : design.fork("stone").pick(STONE_SHAPES);
  const a = o.attributes;
  const gem = a.gemstone === "none" || a.setting === "none" ? undefined : { stone: a.gemstone, setting: a.setting };
  const c: Ctx = {
    a,
    p: painter,
    design,
    tilt: o.tilt,
    hasGem: gem !== undefined,
    setting: a.setting,
    bounds: { x0: 0, y0: 0, x1: 1000, y1: 1000 },
    reach: (b) => o.frameReach?.(b) ?? 3000,
    mount: (cx, cy, R) =>
      gem === undefined
        ? ""
        : mountedStone(
            { gem: gem.stone, setting: gem.setting, shape, painter, lightAngleDeg: o.lightAngleDeg, detail },
            cx,
            cy,
            R,
          ),
  };
  const body = (() => {
    switch (a.category) {
      case "ring":
        return ring(c);
      case "earrings":
        return earrings(c);
      case "necklace":
        return necklace(c);
      case "pendant":
        return pendant(c);
      case "bracelet":
        return bracelet(c);
      case "brooch":
        return brooch(c);
    }
  })();
  return { defs: painter.defs() + gemDefs(o.lightAngleDeg), body, bounds: c.bounds };
}

interface Ctx {
  a: ProductAttributes;
  p: MetalPainter;
  design: Random;
  tilt: number;
  hasGem: boolean;
  setting: Setting;
  /** Set by each category's drawing: the box its visible mass fills. */
  bounds: Bounds;
  /** See `PieceOptions.frameReach`. */
  reach: (bounds: Bounds) => number;
  /** A stone in the product's setting, filling radius R; "" when the piece has no stone. */
  mount: (cx: number, cy: number, R: number) => string;
}

/** Footprint of a setting relative to a plain stone of the same visual weight. */
function footprint(setting: Setting, base: number): number {
  return setting === "halo" || setting === "cluster" ? base * 1.28 : setting === "bezel" ? base * 1.06 : base;
}

function ring(c: Ctx): string {
  const d = c.design.fork("ring");
  const rx = d.range(290, 340);
  const ry = rx * (0.28 + 0.25 * c.tilt);
  const style = c.a.style;
  const t = style === "slim band" ? d.range(30, 42) : style === "wide band" ? d.range(85, 112) : d.range(48, 60);
  const R = footprint(c.setting, d.range(100, 125));
  const cx = 500;
  const cy = c.hasGem ? 500 + R * 0.55 + ry * 0.15 : 500;
  c.bounds = {
    x0: cx - rx - t * 0.6,
    y0: c.hasGem ? cy - ry - R * 1.6 : cy - ry - t * 0.6,
    x1: cx + rx + t * 0.6,
    y1: cy + ry + t * 0.6,
  };

  const band = (from: number, to: number): string => {
    if (style !== "twisted band") return c.p.stroke(polyline(ellipsePoints(cx, cy, rx, ry, from, to, 64)), t, "butt");
    const strand = (phase: number): Pt[] => {
      const pts: Pt[] = [];
      for (let i = 0; i <= 96; i++) {
        const th = from + ((to - from) * i) / 96;
        const nx = ry * Math.cos(th);
        const ny = rx * Math.sin(th);
        const len = Math.hypot(nx, ny);
        const off = t * 0.3 * Math.sin(14 * th + phase);
        pts.push({ x: cx + rx * Math.cos(th) + (nx / len) * off, y: cy + ry * Math.sin(th) + (ny / len) * off });
      }
      return pts;
    };
    return c.p.stroke(polyline(strand(0)), t * 0.62) + c.p.stroke(polyline(strand(Math.PI)), t * 0.62);
  };

  // Back half (seen through the hole, in shadow), the head, then the front half over it.
  let svg = band(Math.PI, 2 * Math.PI);
  svg += `<path d="${polyline(ellipsePoints(cx, cy + t * 0.12, rx - t * 0.2, ry - t * 0.1, Math.PI, 2 * Math.PI, 48))}" fill="none" stroke="#000000" stroke-opacity="0.18" stroke-width="${n(t * 0.5)}"/>`;
  if (c.hasGem) {
    const top = cy - ry;
    const hy = top - R * 0.55;
    svg += c.p.fill(
      `M${n(cx - R * 0.75)} ${n(top + t * 0.3)}L${n(cx + R * 0.75)} ${n(top + t * 0.3)}L${n(cx + R * 0.4)} ${n(hy)}L${n(cx - R * 0.4)} ${n(hy)}Z`,
    );
    svg += c.mount(cx, hy, R);
  }
  svg += band(0, Math.PI);
  return svg;
}

function earrings(c: Ctx): string {
  const d = c.design.fork("earrings");
  // Half the distance between the pair: close enough that each earring reads large.
  const gap = d.range(20, 60);
  let one: string;
  switch (c.a.style) {
    case "hoop": {
      const R = d.range(165, 200);
      const t = d.range(26, 40);
      const rx = R * (0.62 + 0.3 * c.tilt);
      const x = 500 - (rx + t + gap);
      const y = 470;
      one = c.p.stroke(polyline(ellipsePoints(x, y, rx, R, -Math.PI / 2 + 0.25, (3 * Math.PI) / 2 - 0.25, 64)), t);
      one += c.p.ball(x, y - R, t * 0.5);
      const stoneR = footprint(c.setting, d.range(60, 75));
      if (c.hasGem) one += c.mount(x, y + R, stoneR);
      c.bounds = { x0: x - Math.max(rx + t * 0.6, stoneR), y0: y - R - t * 0.6, x1: 0, y1: y + R + (c.hasGem ? stoneR : t * 0.6) };
      break;
    }
    case "drop": {
      const dx = 130 + gap;
      const x = 500 - dx;
      one = c.p.wire(`M${n(x + 25)} 280C${n(x + 25)} 100 ${n(x - 80)} 90 ${n(x - 70)} 230`, 10);
      one += c.p.stroke(circlePath(x, 300, 22), 9);
      if (c.hasGem) {
        const R = footprint(c.setting, d.range(105, 130));
        const cy = 330 + R * 1.15;
        one += c.p.wire(`M${n(x)} 320L${n(x)} ${n(cy - R * 0.8)}`, 9) + c.mount(x, cy, R);
        c.bounds = { x0: x - Math.max(R, 90), y0: 90, x1: 0, y1: cy + R };
      } else {
        const w = d.range(95, 125);
        const h = d.range(280, 360);
        one += c.p.fill(
          `M${n(x)} 318C${n(x + w * 1.2)} ${n(318 + h * 0.45)} ${n(x + w)} ${n(318 + h)} ${n(x)} ${n(318 + h)}` +
            `C${n(x - w)} ${n(318 + h)} ${n(x - w * 1.2)} ${n(318 + h * 0.45)} ${n(x)} 318Z`,
          6,
        );
        c.bounds = { x0: x - Math.max(w, 90), y0: 90, x1: 0, y1: 318 + h };
      }
      break;
    }
    default: {
      // stud
      const R = d.range(105, 135);
      const half = R * (c.hasGem ? footprint(c.setting, 1) : 0.9);
      const x = 500 - half - gap * 1.5;
      c.bounds = { x0: x - half, y0: 500 - half, x1: 0, y1: 500 + half };
      if (c.hasGem) one = c.mount(x, 500, footprint(c.setting, R));
      else {
        const kind = d.pick(["ball", "disc", "knot"] as const);
        one =
          kind === "ball"
            ? c.p.ball(x, 500, R * 0.8)
            : kind === "disc"
              ? c.p.fill(circlePath(x, 500, R * 0.9), 6) + `<path d="${circlePath(x, 500, R * 0.55)}" fill="none" stroke="${c.p.palette.dark}" stroke-opacity="0.5" stroke-width="6"/>`
              : c.p.stroke(ellipsePath(x - R * 0.25, 500, R * 0.55, R * 0.7, 30), R * 0.28) +
                c.p.stroke(ellipsePath(x + R * 0.25, 500, R * 0.55, R * 0.7, -30), R * 0.28);
      }
    }
  }
  c.bounds.x1 = 1000 - c.bounds.x0;
  return one + `<g transform="translate(1000 0) scale(-1 1)">${one}</g>`;
}

/** Stones along an arc: one centre piece at its middle, or five bezel-set stations. */
function arcStones(c: Ctx, arc: readonly Pt[], R: number): string {
  if (!c.hasGem) return "";
  if (c.setting === "bezel") {
    let svg = "";
    for (const f of [0.3, 0.4, 0.5, 0.6, 0.7]) {
      const p = pointAt(arc, f);
      svg += c.mount(p.x, p.y, R * 0.7);
    }
    return svg;
  }
  const p = pointAt(arc, 0.5);
  return c.mount(p.x, p.y, footprint(c.setting, R));
}

function closedLoop(cx: number, cy: number, rx: number, ry: number, wobble: number, phase: number): Pt[] {
  const pts: Pt[] = [];
  for (let i = 0; i <= 160; i++) {
    const th = (2 * Math.PI * i) / 160;
    const k = 1 + wobble * Math.sin(3 * th + phase);
    // Starts at the top (the clasp) and runs clockwise.
    pts.push({ x: cx + rx * k * Math.sin(th), y: cy - ry * k * Math.cos(th) });
  }
  return pts;
}

function clasp(c: Ctx, at: Pt, size: number): string {
  return c.p.fill(ellipsePath(at.x + size * 0.5, at.y, size * 0.55, size * 0.8, 0), 3) + c.p.stroke(circlePath(at.x - size * 0.6, at.y, size * 0.4), size * 0.2);
}

function necklace(c: Ctx): string {
  const d = c.design.fork("necklace");
  // Draped in a wide U, as on a display bust: both sides run up out of the frame.
  const rx = d.range(330, 420);
  const depth = d.range(380, 520);
  const top = 560 - depth * 0.55;
  const arc = ellipsePoints(500, top, rx, depth, Math.PI, 0, 80);
  const flare = d.range(0.05, 0.2);
  const t = d.range(16, 22);
  const R = d.range(72, 90);
  c.bounds = { x0: 500 - rx - t, y0: top - 120, x1: 500 + rx + t, y1: top + depth + (c.hasGem ? R * 1.2 : t) };
  const rise = c.reach(c.bounds) + 100;
  const points = [{ x: 500 - rx * (1 + flare), y: top - rise }, ...arc, { x: 500 + rx * (1 + flare), y: top - rise }];
  return chain(c.p, points, c.a.style as ChainStyle, d.range(32, 40), t) + arcStones(c, arc, R);
}

function pendant(c: Ctx): string {
  const d = c.design.fork("pendant");
  const bail: Pt = { x: 500, y: d.range(250, 300) };
  const spread = d.range(0.22, 0.34);
  const t = d.range(11, 15);
  const link = d.range(28, 36);
  const style = c.a.style as ChainStyle;
  const top = bail.y + 50;
  const chainTop = bail.y - 220;
  // Drawn once the bounds are known: the chain only has to reach the frame's edge.
  const chains = (): string => {
    const rise = c.reach(c.bounds) + 100;
    let svg = "";
    for (const side of [-1, 1]) {
      svg += chain(c.p, [bail, { x: 500 + side * spread * rise, y: bail.y - rise }], style, link, t);
    }
    return svg + c.p.stroke(ellipsePath(500, bail.y + 22, 22, 34, 0), 13);
  };

  if (c.setting === "solitaire") {
    const R = d.range(130, 160);
    c.bounds = { x0: 500 - R, y0: chainTop, x1: 500 + R, y1: top + 2 * R };
    return chains() + c.mount(500, top + R, R);
  }
  const shape = d.pick(["medallion", "oval", "teardrop", "heart", "bar"] as const);
  const s = d.range(0.9, 1.1);
  let body: string;
  let centre: Pt;
  let R: number;
  let halfWidth: number;
  let bottom: number;
  switch (shape) {
    case "medallion": {
      const r = 200 * s;
      body = circlePath(500, top + r, r);
      centre = { x: 500, y: top + r };
      R = r * 0.72;
      halfWidth = r;
      bottom = top + 2 * r;
      break;
    }
    case "oval": {
      const rx = 150 * s;
      const ry = 215 * s;
      body = `M${n(500)} ${n(top)}A${n(rx)} ${n(ry)} 0 1 0 500 ${n(top + 2 * ry)}A${n(rx)} ${n(ry)} 0 1 0 500 ${n(top)}Z`;
      centre = { x: 500, y: top + ry };
      R = rx * 0.8;
      halfWidth = rx;
      bottom = top + 2 * ry;
      break;
    }
    case "teardrop": {
      const w = 170 * s;
      const h = 430 * s;
      body = `M500 ${n(top)}C${n(500 + w * 1.25)} ${n(top + h * 0.45)} ${n(500 + w)} ${n(top + h)} 500 ${n(top + h)}C${n(500 - w)} ${n(top + h)} ${n(500 - w * 1.25)} ${n(top + h * 0.45)} 500 ${n(top)}Z`;
      centre = { x: 500, y: top + h * 0.64 };
      R = w * 0.66;
      halfWidth = w * 0.95;
      bottom = top + h;
      break;
    }
    case "heart": {
      const w = 200 * s;
      const h = 360 * s;
      body =
        `M500 ${n(top + h * 0.22)}C${n(500 + w * 0.2)} ${n(top - h * 0.08)} ${n(500 + w * 1.15)} ${n(top)} ${n(500 + w)} ${n(top + h * 0.42)}` +
        `C${n(500 + w * 0.85)} ${n(top + h * 0.7)} ${n(500 + w * 0.2)} ${n(top + h * 0.86)} 500 ${n(top + h)}` +
        `C${n(500 - w * 0.2)} ${n(top + h * 0.86)} ${n(500 - w * 0.85)} ${n(top + h * 0.7)} ${n(500 - w)} ${n(top + h * 0.42)}` +
        `C${n(500 - w * 1.15)} ${n(top)} ${n(500 - w * 0.2)} ${n(top - h * 0.08)} 500 ${n(top + h * 0.22)}Z`;
      centre = { x: 500, y: top + h * 0.45 };
      R = w * 0.58;
      halfWidth = w;
      bottom = top + h;
      break;
    }
    case "bar": {
      const w = 78 * s;
      const h = 420 * s;
      body = `M${n(500 - w)} ${n(top + w)}A${n(w)} ${n(w)} 0 0 1 ${n(500 + w)} ${n(top + w)}L${n(500 + w)} ${n(top + h - w)}A${n(w)} ${n(w)} 0 0 1 ${n(500 - w)} ${n(top + h - w)}Z`;
      centre = { x: 500, y: top + h * 0.5 };
      R = w * 1.05;
      halfWidth = w;
      bottom = top + h;
      break;
    }
  }
  halfWidth = Math.max(halfWidth, c.hasGem ? R : 0, (bail.y - chainTop) * spread);
  c.bounds = { x0: 500 - halfWidth, y0: chainTop, x1: 500 + halfWidth, y1: bottom };
  const svg = chains() + c.p.fill(body, 6);
  if (c.hasGem) return svg + c.mount(centre.x, centre.y, R);
  // Plain pendants get an engraved motif so the face is not a flat blob.
  return svg + `<path d="${circlePath(centre.x, centre.y, R * 0.55)}" fill="none" stroke="${c.p.palette.dark}" stroke-opacity="0.45" stroke-width="7"/>` + c.p.ball(centre.x, centre.y, R * 0.22);
}

function bracelet(c: Ctx): string {
  const d = c.design.fork("bracelet");
  const R = d.range(280, 330);
  // Bangles are shown nearly face-on, rings (see ring()) in strong perspective: with the
  // stone standing above a ring's band but sitting on a bangle's, that keeps them apart.
  const ry = R * (c.a.style === "bangle" ? 0.86 + 0.14 * c.tilt : 0.72 + 0.28 * c.tilt);
  const frame = (t: number, stoneR: number): void => {
    c.bounds = { x0: 500 - R - t * 0.6, y0: 500 - ry - Math.max(t * 0.6, stoneR), x1: 500 + R + t * 0.6, y1: 500 + ry + Math.max(t * 0.6, stoneR) };
  };
  switch (c.a.style) {
    case "bangle": {
      const t = d.range(42, 58);
      frame(t, c.hasGem ? 80 : 0);
      let svg = c.p.stroke(ellipsePath(500, 500, R, ry, 0), t);
      if (!c.hasGem) return svg;
      if (c.setting === "bezel") {
        for (const deg of [-125, -90, -55]) {
          const th = (deg * Math.PI) / 180;
          svg += c.mount(500 + R * Math.cos(th), 500 + ry * Math.sin(th), t * 0.95);
        }
        return svg;
      }
      return svg + c.mount(500, 500 - ry, footprint(c.setting, d.range(62, 78)));
    }
    case "cuff": {
      const t = d.range(95, 135);
      frame(t, t * 0.7);
      const gapTop = d.chance(0.5);
      const mid = gapTop ? -Math.PI / 2 : Math.PI / 2;
      const from = mid + 0.5;
      const to = mid + 2 * Math.PI - 0.5;
      let svg = c.p.stroke(polyline(ellipsePoints(500, 500, R, ry, from, to, 72)), t, "butt");
      for (const th of [from, to]) svg += c.p.ball(500 + R * Math.cos(th), 500 + ry * Math.sin(th), t * 0.55);
      if (!c.hasGem) return svg;
      const front = mid + Math.PI;
      if (c.setting === "bezel") {
        for (const off of [-0.38, 0, 0.38]) {
          svg += c.mount(500 + R * Math.cos(front + off), 500 + ry * Math.sin(front + off), t * 0.5);
        }
        return svg;
      }
      return svg + c.mount(500 + R * Math.cos(front), 500 + ry * Math.sin(front), footprint(c.setting, t * 0.68));
    }
    default: {
      const loop = closedLoop(500, 500, R, ry, 0.02, d.range(0, 6.28));
      const t = d.range(20, 26);
      const link = d.range(62, 76);
      frame(link, c.hasGem ? 85 : 0);
      // Stones hang on the lower half of the loop.
      const lower = ellipsePoints(500, 500, R, ry, Math.PI, 0, 40);
      return chain(c.p, loop, "cable chain", link, t) + clasp(c, loop[0] as Pt, 40) + arcStones(c, lower, d.range(70, 85));
    }
  }
}

function brooch(c: Ctx): string {
  const d = c.design.fork("brooch");
  const pinY = d.range(470, 540);
  // The pin sits behind the ornament and shows at both ends.
  let svg = c.p.wire(`M70 ${n(pinY)}L930 ${n(pinY - 8)}`, 9) + c.p.ball(70, pinY, 20) + c.p.ball(930, pinY - 8, 16);
  switch (c.a.style) {
    case "floral": {
      const petals = d.int(5, 8);
      const len = d.range(190, 230);
      const wid = d.range(70, 95);
      const phase = d.range(0, Math.PI);
      c.bounds = { x0: 50, y0: 500 - len * 1.6, x1: 950, y1: 500 + len * 1.6 };
      for (let i = 0; i < petals; i++) {
        const th = phase + (2 * Math.PI * i) / petals;
        const c0 = Math.cos(th);
        const s0 = Math.sin(th);
        const tip = { x: 500 + len * 1.6 * c0, y: 500 + len * 1.6 * s0 };
        const ctrl = (side: number): string =>
          `${n(500 + len * 0.8 * c0 - side * wid * s0)} ${n(500 + len * 0.8 * s0 + side * wid * c0)}`;
        const base = { x: 500 + 40 * c0, y: 500 + 40 * s0 };
        svg += c.p.fill(`M${n(base.x)} ${n(base.y)}Q${ctrl(1)} ${n(tip.x)} ${n(tip.y)}Q${ctrl(-1)} ${n(base.x)} ${n(base.y)}Z`, 5);
        svg += `<path d="M${n(base.x)} ${n(base.y)}L${n(500 + len * 1.3 * c0)} ${n(500 + len * 1.3 * s0)}" stroke="${c.p.palette.dark}" stroke-opacity="0.45" stroke-width="5"/>`;
      }
      if (c.hasGem) return svg + c.mount(500, 500, footprint(c.setting, d.range(95, 120)));
      svg += c.p.ball(500, 500, 70);
      for (let i = 0; i < 8; i++) {
        const th = (2 * Math.PI * i) / 8;
        svg += c.p.ball(500 + 95 * Math.cos(th), 500 + 95 * Math.sin(th), 20);
      }
      return svg;
    }
    case "bar": {
      const w = d.range(330, 390);
      const h = d.range(48, 60);
      c.bounds = { x0: 50, y0: 500 - h * 2.4, x1: 950, y1: 500 + h * 2.4 };
      svg += c.p.fill(`M${n(500 - w)} ${n(500 - h)}H${n(500 + w)}A${n(h)} ${n(h)} 0 0 1 ${n(500 + w)} ${n(500 + h)}H${n(500 - w)}A${n(h)} ${n(h)} 0 0 1 ${n(500 - w)} ${n(500 - h)}Z`, 6);
      if (!c.hasGem) {
        return svg + `<path d="M${n(500 - w * 0.9)} 500H${n(500 + w * 0.9)}" stroke="${c.p.palette.dark}" stroke-opacity="0.45" stroke-width="6"/>` + c.p.ball(500 - w - h * 0.6, 500, h * 0.7) + c.p.ball(500 + w + h * 0.6, 500, h * 0.7);
      }
      if (c.setting === "bezel") {
        for (const f of [-0.55, 0, 0.55]) svg += c.mount(500 + f * w, 500, h * 1.35);
        return svg;
      }
      return svg + c.mount(500, 500, footprint(c.setting, h * 1.9));
    }
    default: {
      // round
      const R = d.range(240, 285);
      const w = d.range(48, 66);
      const spokes = d.int(4, 6);
      c.bounds = { x0: Math.min(50, 500 - R - w * 1.2), y0: 500 - R - w * 1.2, x1: Math.max(950, 500 + R + w * 1.2), y1: 500 + R + w * 1.2 };
      for (let i = 0; i < spokes; i++) {
        const th = (2 * Math.PI * i) / spokes + 0.3;
        svg += c.p.wire(`M500 500L${n(500 + R * Math.cos(th))} ${n(500 + R * Math.sin(th))}`, 12);
      }
      svg += c.p.stroke(circlePath(500, 500, R), w);
      const beads = 22;
      for (let i = 0; i < beads; i++) {
        const th = (2 * Math.PI * i) / beads;
        svg += c.p.ball(500 + (R + w * 0.85) * Math.cos(th), 500 + (R + w * 0.85) * Math.sin(th), w * 0.32);
      }
      if (c.hasGem) return svg + c.mount(500, 500, footprint(c.setting, d.range(95, 120)));
      return svg + c.p.ball(500, 500, 75);
    }
  }
}
