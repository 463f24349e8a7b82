import type { Gemstone, Metal } from "./attributes.js";

/**
 * Colours of metals and stones as drawn. The metals are tuned to stay apart after
 * a photo is shrunk to 128 px and lightly tinted: yellow gold saturated yellow,
 * rose gold pink-salmon, copper a deeper orange-brown, white gold bright and cool
 * with soft contrast, sterling silver mid-grey with dark, oxidised shadows (the
 * white gold / silver pair differs mostly in brightness and contrast, so keep it wide).
 */
export interface MetalPalette {
  /** Deep shadow / outline. */
  dark: string;
  base: string;
  light: string;
  /** Specular highlight. */
  spec: string;
}

export const METAL_PALETTES: Record<Metal, MetalPalette> = {
  "yellow gold": { dark: "#7a5506", base: "#d6a52a", light: "#f8db6e", spec: "#fff4c4" },
  "rose gold": { dark: "#9a5a50", base: "#e0a092", light: "#f6cbbd", spec: "#fff0ea" },
  copper: { dark: "#5a220c", base: "#b3592a", light: "#e08650", spec: "#ffc9a0" },
  "white gold": { dark: "#959ca8", base: "#e2e6ec", light: "#f7f9fc", spec: "#ffffff" },
  "sterling silver": { dark: "#36373c", base: "#85878d", light: "#bfc0c5", spec: "#ececee" },
};

export interface GemPalette {
  outline: string;
  dark: string;
  base: string;
  light: string;
}

export const GEM_PALETTES: Record<Exclude<Gemstone, "none" | "pearl">, GemPalette> = {
  diamond: { outline: "#56657c", dark: "#9fb0c8", base: "#dce6f3", light: "#ffffff" },
  ruby: { outline: "#3a000c", dark: "#7a0018", base: "#c4122f", light: "#ff6078" },
  sapphire: { outline: "#060c3a", dark: "#0c1a66", base: "#1f40b4", light: "#6890ff" },
  emerald: { outline: "#022a14", dark: "#04542a", base: "#0f9150", light: "#5ee096" },
  amethyst: { outline: "#2a0a44", dark: "#4e1a7c", base: "#8a3cc6", light: "#d2a0f6" },
};

/** Pearl body: highlight, body, edge, outline. */
export const PEARL = { highlight: "#fffdf6", body: "#f3ead6", edge: "#cdbb98", outline: "#a89670", sheen: "#f2cfd8" };
