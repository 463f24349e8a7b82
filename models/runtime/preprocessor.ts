import { PermanentError } from "../../shared/errors/index.js";
import type { Manifest } from "./manifest.js";
import { preprocessPhoto, PhotoError, type PreprocessOptions } from "./preprocess.js";

/** A product to describe: its id and its photos' encoded bytes, primary photo first. */
export interface ProductPhotos {
  id: string;
  photos: readonly Uint8Array[];
}

/** A product whose photos passed preprocessing (see `Preprocessor.preprocess`). */
export interface PreparedProduct {
  id: string;
  /** `size × size × 3` RGB per photo, at most the bundle's `max_photos`. */
  photos: Uint8Array[];
  preprocessMs: number;
}

export interface PreprocessorOptions {
  /** Decompression-bomb guard: largest photo accepted, in pixels. Default DEFAULT_MAX_INPUT_PIXELS (preprocess.ts says why). */
  maxInputPixels?: number;
}

/** Turns a product's photos into the model's input pixels, as the bundle's manifest asks. */
export interface Preprocessor {
  /** Decode and preprocess one product's photos (its first `max_photos`, at once); throws PhotoError naming the photo. */
  preprocess(product: ProductPhotos): Promise<PreparedProduct>;
}

/**
 * A preprocessor from the manifest alone: no session, so a worker's main thread can prepare
 * photos while its inference threads hold the graphs. The describer uses the same one.
 */
export function createPreprocessor(manifest: Pick<Manifest, "preprocessing">, options: PreprocessorOptions = {}): Preprocessor {
  const { image_size, background, max_photos } = manifest.preprocessing;
  const photo: PreprocessOptions = {
    imageSize: image_size,
    background,
    ...(options.maxInputPixels !== undefined ? { maxInputPixels: options.maxInputPixels } : {}),
  };
  return {
    async preprocess(product) {
      const started = performance.now();
      if (product.photos.length === 0) throw new PermanentError("photo_none", "product has no photos");
      const photos = await Promise.all(
        product.photos.slice(0, max_photos).map(async (bytes, index) => {
          try {
            return (await preprocessPhoto(bytes, photo)).pixels;
          } catch (error) {
            throw error instanceof PhotoError ? error.at(index, product.id) : error;
          }
        }),
      );
      return { id: product.id, photos, preprocessMs: performance.now() - started };
    },
  };
}
