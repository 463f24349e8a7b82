/** The synthetic jewellery catalogue: planned products, their descriptions and rendered photos. */
export * from "./attributes.js";
export { houseStyleDescription } from "./house-style.js";
export { artisanDescription } from "./artisan-text.js";
export { planProduct, planCatalogue, type ProductSpec } from "./catalogue-plan.js";
export {
  planPhoto,
  BACKGROUND_KINDS,
  PHOTO_FORMATS,
  MIN_PHOTO_SIDE,
  MAX_PHOTO_SIDE,
  type PhotoSpec,
  type BackgroundKind,
  type BackgroundSpec,
  type LightingSpec,
  type PhotoFormat,
  type ViewSpec,
} from "./photo-spec.js";
export { renderPhoto, sceneSvg, MAX_RASTER_SIDE } from "./render.js";
export {
  generateCatalogue,
  generateProduct,
  type GenerateCatalogueOptions,
  type GeneratedProduct,
} from "./generate-catalogue.js";
export { Random, hash32 } from "./random.js";
