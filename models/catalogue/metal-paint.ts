import type { Finish, Metal } from "./attributes.js";
import { METAL_PALETTES, type MetalPalette } from "./palette.js";
import { circlePath, n } from "./svg-kit.js";

/**
 * Paints metal shapes in one SVG document: a shading gradient turned toward the key
 * light, a finish overlay (brushed streaks, hammered dimples; polished gets stronger
 * highlights instead), a dark outline and a specular line. Gradients and patterns
 * have fixed ids, so one painter serves one document.
 */
export interface MetalPainter {
  readonly palette: MetalPalette;
  /** `<defs>` content the painted shapes refer to. */
  defs(): string;
  /** A stroked path of width `w` (bands, chains, hoops). */
  stroke(d: string, w: number, cap?: "round" | "butt"): string;
  /** A filled path (petals, medallions, bars). */
  fill(d: string, outline?: number): string;
  /** A shaded sphere (beads, prongs, studs). */
  ball(cx: number, cy: number, r: number): string;
  /** A plain line in the metal's shade, for parts too thin to need shading (pins, wires). */
  wire(d: string, w: number): string;
}

export function createMetalPainter(metal: Metal, finish: Finish, lightAngleDeg: number): MetalPainter {
  const palette = METAL_PALETTES[metal];
  const a = (lightAngleDeg * Math.PI) / 180;
  const lx = Math.cos(a);
  const ly = Math.sin(a);
  const highlightOpacity = finish === "polished" ? 0.95 : finish === "hammered" ? 0.6 : 0.45;

  const stops: Array<[number, string]> =
    finish === "polished"
      ? [
          [0, palette.dark],
          [0.2, palette.base],
          [0.4, palette.light],
          [0.48, palette.spec],
          [0.56, palette.light],
          [0.78, palette.base],
          [1, palette.dark],
        ]
      : finish === "brushed"
        ? [
            [0, mix(palette.dark, palette.base, 0.45)],
            [0.35, palette.base],
            [0.55, palette.light],
            [0.75, palette.base],
            [1, mix(palette.dark, palette.base, 0.45)],
          ]
        : [
            [0, palette.dark],
            [0.3, palette.base],
            [0.5, palette.light],
            [0.7, palette.base],
            [1, palette.dark],
          ];

  const gradient =
    `<linearGradient id="mg" x1="${n(0.5 + 0.5 * lx)}" y1="${n(0.5 + 0.5 * ly)}" x2="${n(0.5 - 0.5 * lx)}" y2="${n(0.5 - 0.5 * ly)}">` +
    stops.map(([o, c]) => `<stop offset="${o}" stop-color="${c}"/>`).join("") +
    `</linearGradient>` +
    `<radialGradient id="mr" fx="${n(0.5 + 0.25 * lx)}" fy="${n(0.5 + 0.25 * ly)}">` +
    `<stop offset="0" stop-color="${palette.spec}"/><stop offset="0.3" stop-color="${palette.light}"/>` +
    `<stop offset="0.7" stop-color="${palette.base}"/><stop offset="1" stop-color="${palette.dark}"/></radialGradient>`;

  // Only hammered fills get a pattern: librsvg patterns are slow, and brushed streaks on
  // filled faces are invisible at the sizes the model sees (the softer gradient carries it).
  const finishPattern =
    finish === "hammered"
      ? `<radialGradient id="dim" fx="${n(0.5 - 0.3 * lx)}" fy="${n(0.5 - 0.3 * ly)}">` +
        `<stop offset="0" stop-color="#ffffff" stop-opacity="0.55"/><stop offset="0.55" stop-color="#ffffff" stop-opacity="0"/>` +
        `<stop offset="0.8" stop-color="#000000" stop-opacity="0.1"/><stop offset="1" stop-color="#000000" stop-opacity="0.38"/></radialGradient>` +
        `<pattern id="fin" width="48" height="42" patternUnits="userSpaceOnUse">` +
        [
          [12, 10],
          [36, 10],
          [0, 31],
          [24, 31],
          [48, 31],
        ]
          .map(([x, y]) => `<circle cx="${x}" cy="${y}" r="12.5" fill="url(#dim)"/>`)
          .join("") +
        `</pattern>`
    : "";

  /**
   * The finish along a stroke, drawn with more strokes rather than a pattern (patterns
   * are the slowest thing librsvg draws): brushed = fine streaks running along the
   * metal; hammered = rows of round dents (dots from round-capped dashes).
   */
  const strokeFinish = (common: string, w: number): string => {
    // Too fine to show on thin wire and chain links at any photo size we make.
    if (w < 28) return "";
    if (finish === "brushed") {
      let s = "";
      for (const [off, colour, op] of [
        [-0.22, "#ffffff", 0.35],
        [0.18, "#000000", 0.16],
      ] as const) {
        s += `<path ${common} stroke="${colour}" stroke-opacity="${op}" stroke-width="${n(w * 0.09)}" transform="translate(${n(-ly * w * off)} ${n(lx * w * off)})"/>`;
      }
      return s;
    }
    if (finish === "hammered") {
      const dot = w * 0.3;
      const dash = `stroke-dasharray="0 ${n(w * 0.55)}" stroke-linecap="round"`;
      return (
        `<path ${common} ${dash} stroke="#000000" stroke-opacity="0.22" stroke-width="${n(dot)}" transform="translate(${n(-ly * w * 0.2)} ${n(lx * w * 0.2)})"/>` +
        `<path ${common} ${dash} stroke="#ffffff" stroke-opacity="0.4" stroke-width="${n(dot * 0.55)}" transform="translate(${n(-ly * w * 0.2 + lx * dot * 0.2)} ${n(lx * w * 0.2 + ly * dot * 0.2)})"/>` +
        `<path ${common} ${dash} stroke-dashoffset="${n(w * 0.27)}" stroke="#000000" stroke-opacity="0.22" stroke-width="${n(dot)}" transform="translate(${n(ly * w * 0.2)} ${n(-lx * w * 0.2)})"/>`
      );
    }
    return "";
  };

  return {
    palette,
    defs: () => gradient + finishPattern,
    stroke(d, w, cap = "round") {
      const common = `d="${d}" fill="none" stroke-linecap="${cap}" stroke-linejoin="round"`;
      return (
        `<path ${common} stroke="${palette.dark}" stroke-width="${n(w * 1.22)}"/>` +
        `<path ${common} stroke="url(#mg)" stroke-width="${n(w)}"/>` +
        strokeFinish(`d="${d}" fill="none" stroke-linejoin="round"`, w) +
        `<path ${common} stroke="${palette.spec}" stroke-opacity="${highlightOpacity}" stroke-width="${n(w * 0.26)}" transform="translate(${n(lx * w * 0.22)} ${n(ly * w * 0.22)})"/>`
      );
    },
    fill(d, outline = 4) {
      return (
        `<path d="${d}" fill="url(#mg)" stroke="${palette.dark}" stroke-width="${n(outline)}" stroke-linejoin="round"/>` +
        (finishPattern ? `<path d="${d}" fill="url(#fin)"/>` : "")
      );
    },
    ball(cx, cy, r) {
      return `<path d="${circlePath(cx, cy, r)}" fill="url(#mr)" stroke="${palette.dark}" stroke-width="${n(Math.max(1.5, r * 0.12))}"/>`;
    },
    wire(d, w) {
      return (
        `<path d="${d}" fill="none" stroke="${palette.dark}" stroke-width="${n(w * 1.3)}" stroke-linecap="round"/>` +
        `<path d="${d}" fill="none" stroke="${palette.base}" stroke-width="${n(w)}" stroke-linecap="round"/>`
      );
    },
  };
}

/** Linear mix of two `#rrggbb` colours (`t` = 0 gives `a`). */
export function mix(a: string, b: string, t: number): string {
  const pa = parseInt(a.slice(1), 16);
  const pb = parseInt(b.slice(1), 16);
  let out = "#";
  for (const shift of [16, 8, 0]) {
    const ca = (pa >> shift) & 0xff;
    const cb = (pb >> shift) & 0xff;
    out += Math.round(ca + (cb - ca) * t)
      .toString(16)
      .padStart(2, "0");
  }
  return out;
}
