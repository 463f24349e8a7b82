import { crc32 } from "node:zlib";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { endsWhole, normalise, PHOTO_REASONS, PhotoError, preprocessPhoto } from "./preprocess.js";

const options = { imageSize: 32, background: [255, 255, 255] as const };

async function solid(width: number, height: number, colour: { r: number; g: number; b: number; alpha?: number }) {
  return sharp({ create: { width, height, channels: 4, background: { alpha: 1, ...colour } } }).png().toBuffer();
}

function pixel(p: Uint8Array, size: number, x: number, y: number): number[] {
  const i = (y * size + x) * 3;
  return [p[i], p[i + 1], p[i + 2]] as number[];
}

function noise(width: number, height: number) {
  return sharp({ create: { width, height, channels: 3, background: "#808080", noise: { type: "gaussian", mean: 128, sigma: 40 } } });
}

async function refusal(bytes: Uint8Array, extra: Partial<Parameters<typeof preprocessPhoto>[1]> = {}): Promise<PhotoError> {
  const error = await preprocessPhoto(bytes, { ...options, ...extra }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PhotoError);
  return error as PhotoError;
}

describe("preprocessPhoto", () => {
  it("pads a wide photo to a centred square on the background", async () => {
    const out = await preprocessPhoto(await solid(200, 100, { r: 200, g: 0, b: 0 }), options);
    expect(out.pixels.length).toBe(32 * 32 * 3);
    expect(pixel(out.pixels, 32, 16, 16)).toEqual([200, 0, 0]);
    expect(pixel(out.pixels, 32, 16, 1)).toEqual([255, 255, 255]); // padding above
    expect(pixel(out.pixels, 32, 16, 30)).toEqual([255, 255, 255]); // padding below
    expect(pixel(out.pixels, 32, 1, 16)).toEqual([200, 0, 0]); // no padding left
  });

  it("flattens transparency onto the background", async () => {
    const out = await preprocessPhoto(await solid(40, 40, { r: 0, g: 0, b: 0, alpha: 0 }), { ...options, background: [10, 20, 30] });
    expect(pixel(out.pixels, 32, 5, 5)).toEqual([10, 20, 30]);
  });

  it("applies EXIF orientation before padding", async () => {
    // 200×100 stored, orientation 6 (rotate 90°): seen as 100×200, so padding is left and right.
    const jpeg = await sharp(await solid(200, 100, { r: 0, g: 0, b: 200 })).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const out = await preprocessPhoto(jpeg, options);
    expect(pixel(out.pixels, 32, 1, 16)).toEqual([255, 255, 255]);
    expect(pixel(out.pixels, 32, 16, 1)[2]).toBeGreaterThan(150);
  });

  it("gives grey photos three channels", async () => {
    const grey = await sharp(await solid(50, 50, { r: 90, g: 90, b: 90 })).greyscale().jpeg().toBuffer();
    const out = await preprocessPhoto(grey, options);
    expect(pixel(out.pixels, 32, 16, 16).every((v) => Math.abs(v - 90) <= 2)).toBe(true);
  });

  it("refuses empty input", async () => {
    expect((await refusal(new Uint8Array(0))).code).toBe(PHOTO_REASONS.empty);
  });

  it("refuses bytes that are no image", async () => {
    const e = await refusal(Buffer.from("this is a text file, not a photo"));
    expect(e.code).toBe(PHOTO_REASONS.unsupported);
  });

  it("refuses SVG even though it could be rendered", async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    const e = await refusal(svg);
    expect(e.code).toBe(PHOTO_REASONS.unsupported);
    expect(e.message).toMatch(/svg/);
  });

  it("calls a truncated JPEG, PNG or WebP photo_truncated every time, even decoded many at once", async () => {
    for (const encoded of [await noise(300, 300).jpeg().toBuffer(), await noise(300, 300).png().toBuffer(), await noise(300, 300).webp().toBuffer()]) {
      const cut = encoded.subarray(0, Math.floor(encoded.length / 2));
      const codes = await Promise.all(Array.from({ length: 24 }, async () => (await refusal(cut)).code));
      expect(new Set(codes)).toEqual(new Set([PHOTO_REASONS.truncated]));
    }
  });

  it("knows a whole file by how its format ends", async () => {
    const jpeg = await noise(40, 40).jpeg().toBuffer();
    expect(endsWhole("jpeg", jpeg)).toBe(true);
    expect(endsWhole("jpeg", Buffer.concat([jpeg, Buffer.from([0, 0, 0x0a])]))).toBe(true);
    expect(endsWhole("jpeg", jpeg.subarray(0, jpeg.length - 1))).toBe(false);
    const png = await noise(40, 40).png().toBuffer();
    expect([endsWhole("png", png), endsWhole("png", png.subarray(0, png.length - 4))]).toEqual([true, false]);
    const webp = await noise(40, 40).webp().toBuffer();
    expect([endsWhole("webp", webp), endsWhole("webp", webp.subarray(0, webp.length - 10))]).toEqual([true, false]);
    expect(endsWhole("tiff", jpeg)).toBeUndefined();
  });

  it("refuses a corrupt PNG body", async () => {
    const png = Buffer.from(await noise(64, 64).png().toBuffer());
    png.fill(0x55, 60, png.length - 20); // keep the header, wreck the compressed data
    expect((await refusal(png)).code).toBe(PHOTO_REASONS.corrupt);
  });

  it("refuses a decompression bomb from its header alone", async () => {
    const png = Buffer.from(await solid(8, 8, { r: 1, g: 2, b: 3 }));
    // Rewrite IHDR to claim 60000 × 60000 pixels (3.6 gigapixels) and fix its CRC.
    png.writeUInt32BE(60_000, 16);
    png.writeUInt32BE(60_000, 20);
    png.writeUInt32BE(crc32(png.subarray(12, 29)) >>> 0, 29);
    const e = await refusal(png);
    expect(e.code).toBe(PHOTO_REASONS.tooLarge);
    expect(e.message).toContain("60000×60000");
  });

  it("honours a lower pixel limit", async () => {
    const e = await refusal(await solid(100, 100, { r: 0, g: 0, b: 0 }), { maxInputPixels: 5_000 });
    expect(e.code).toBe(PHOTO_REASONS.tooLarge);
  });
});

describe("normalise", () => {
  it("writes (x/255 - mean)/std in NCHW order", () => {
    const pixels = new Uint8Array([255, 0, 51, 0, 255, 102]); // 1×2 image, but size=1 reads only the first pixel
    const out = normalise([pixels.subarray(0, 3), pixels.subarray(3, 6)], 1, [0.5, 0.5, 0.5], [0.5, 0.25, 0.1]);
    const expected = [1, -2, (0.2 - 0.5) / 0.1, -1, 2, (0.4 - 0.5) / 0.1];
    out.forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 5));
  });
});
