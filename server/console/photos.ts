import sharp from "sharp";
import { PermanentError } from "../../shared/errors/index.js";
import { DEFAULT_MAX_INPUT_PIXELS } from "../../models/runtime/preprocess.js";
import { productPhotoKeys } from "../../shared/ledger/run-items-page.js";
import { ApiError } from "../api-error.js";
import type { ServerDeps } from "../app.js";

/** Longest side of a console thumbnail, pixels. */
const THUMB_SIDE = 480;

/**
 * Photo `index` of `productId`, as a WebP thumbnail for the console. The key comes from the
 * catalogue row, never from the client, so nobody can read another object through this route;
 * the bytes are re-encoded (a hostile file is never passed on as is), within the pixel limit
 * the pipeline applies.
 */
export async function servePhoto(deps: Pick<ServerDeps, "ledger" | "images">, productId: string, index: number): Promise<Buffer> {
  const keys = await productPhotoKeys(deps.ledger, productId);
  if (keys === undefined) throw new ApiError(404, "not_found", `no product ${productId} in the catalogue`, "id", "known_product");
  const key = keys[index];
  if (key === undefined) throw new ApiError(404, "not_found", `product ${productId} has ${keys.length} photo(s); there is no photo ${index}`, "n", "known_photo");
  let bytes: Uint8Array;
  try {
    bytes = await deps.images.get(key);
  } catch (error) {
    if (error instanceof PermanentError) throw new ApiError(404, "not_found", `photo ${index} of product ${productId} is not in the image store`, "n", "stored_photo");
    throw error;
  }
  try {
    return await sharp(bytes, { limitInputPixels: DEFAULT_MAX_INPUT_PIXELS, pages: 1 }).rotate().resize(THUMB_SIDE, THUMB_SIDE, { fit: "inside", withoutEnlargement: true }).webp({ quality: 80 }).toBuffer();
  } catch (error) {
    throw new ApiError(422, "photo_unreadable", `photo ${index} of product ${productId} cannot be shown: ${error instanceof Error ? error.message : String(error)}`, "n", "decodable");
  }
}
