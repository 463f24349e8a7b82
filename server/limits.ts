/** At most three photos per product, as the model reads them (primary first). */
export const MAX_PHOTOS = 3;

/** Longest text taken with a request (an artisan's text, a reviewer's edit), characters. */
export const MAX_TEXT = 5000;
