/** At most three photos per product, as the model reads them (primary first). */
export const MAX_PHOTOS = 3;
