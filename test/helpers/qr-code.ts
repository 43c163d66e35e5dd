// Reads a QR code the way a guest's phone would: the image rasterized (an SVG drawn by
// librsvg, through sharp), then decoded from its pixels by jsQR, a decoder of its own.
// jsqr is CommonJS that sets `default` on its exports: Node's import sees the whole object.
import jsqr from 'jsqr';
import sharp from 'sharp';

/** The text a QR code image (SVG or PNG) holds, or null when no code can be read in it. */
export async function readQrCode(image: Buffer): Promise<string | null> {
  const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return jsqr.default(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height)?.data ?? null;
}

/** The size of an image (SVG or PNG), as sharp reads it. */
export async function imageSize(image: Buffer): Promise<{ width: number; height: number; format: string }> {
  const { width, height, format } = await sharp(image).metadata();
  return { width, height, format };
}
