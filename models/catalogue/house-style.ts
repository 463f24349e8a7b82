import type { ProductAttributes, Style } from "./attributes.js";

/**
 * The house style: one consistent sentence per product, built only from its
 * true attributes. Training targets are written in it, so the model learns to
 * describe every product the same way whatever the artisan wrote.
 *
 * Every attribute label appears verbatim (as whole words), and no sentence names
 * a label of another value, so the stated category, metal and gemstone can be
 * read back by phrase matching (see `readStatedAttributes`).
 */
export function houseStyleDescription(a: ProductAttributes): string {
  const finish = a.finish.charAt(0).toUpperCase() + a.finish.slice(1);
  let text = `${finish} ${a.metal} ${a.category}`;
  if (a.gemstone !== "none") {
    text += ` set with ${article(a.gemstone)} ${a.gemstone}`;
    if (a.setting !== "none") text += ` in a ${a.setting} setting`;
  }
  return `${text}, ${styleClause(a.style)}.`;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

function styleClause(style: Style): string {
  switch (style) {
    case "slim band":
    case "wide band":
    case "twisted band":
    case "cable chain":
    case "rope chain":
    case "box chain":
      return `on a ${style}`;
    case "stud":
    case "hoop":
    case "drop":
    case "bangle":
    case "cuff":
      return `in a ${style} style`;
    case "floral":
    case "bar":
    case "round":
      return `in a ${style} design`;
  }
}
