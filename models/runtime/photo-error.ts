import { PermanentError } from "../../shared/errors/index.js";

/*
 * A photo the runtime cannot use, and why: free of sharp, so an inference thread (which only
 * runs prepared pixels) loads none of the decoding stack.
 */

/** Why a photo was refused. Stable codes: they are stored as a product's failure reason. */
export const PHOTO_REASONS = {
  empty: "photo_empty",
  unsupported: "photo_unsupported_format",
  corrupt: "photo_corrupt",
  truncated: "photo_truncated",
  tooLarge: "photo_too_large",
} as const;
export type PhotoReason = (typeof PHOTO_REASONS)[keyof typeof PHOTO_REASONS];

/** A photo that cannot be used; `code` is one of PHOTO_REASONS. */
export class PhotoError extends PermanentError {
  /** Index of the photo within its product, once known. */
  readonly photo: number | undefined;

  constructor(code: PhotoReason, message: string, options?: { cause?: unknown; photo?: number }) {
    super(code, message, options);
    this.photo = options?.photo;
  }

  /** The same error, placed: "photo 2 of p123: ..." tells the catalogue team which file to fix. */
  at(photo: number, productId: string): PhotoError {
    return new PhotoError(this.code as PhotoReason, `photo ${photo + 1} of product ${productId}: ${this.message}`, {
      cause: this,
      photo,
    });
  }
}
