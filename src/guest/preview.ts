// The picture link cards show for a session's page (WhatsApp, iMessage, Slack, mail apps): a
// JPEG at most 1200 px wide and high and at most 300 KB, made with sharp from the still, a
// GIF's first frame, or a video's poster. Its metadata (EXIF, GPS) is left out, and it is
// turned upright first, as the camera recorded it. A photo fits at the first try; one that
// does not is made again from the file at a lower quality, rather than its decoded pixels
// being kept to encode again: a preview then leaves behind only its JPEG, and memory stays
// flat over a day of them (bench/media.mjs measures it).
//
// sharp is loaded only when a preview is made, and its operation cache is off: each file is
// read once, and a booth making previews all day should hold no memory for files gone by.
import type { Sharp, SharpOptions } from 'sharp';

export const PREVIEW_MAX_PX = 1200;
export const PREVIEW_MAX_BYTES = 300 * 1000;
/**
 * The encodings tried in turn until one fits: the quality lowered step by step from one a link
 * card cannot tell from the original, then, for an image with so much detail that even that is
 * too large (noise, confetti), a smaller one.
 */
const STEPS = [
  ...[82, 72, 62, 52, 42].map((quality) => ({ scale: 1, quality })),
  { scale: 0.75, quality: 42 },
  { scale: 0.5, quality: 42 },
];
/** A decoded image larger than this is refused rather than allowed to take the booth's memory (sharp's own default). */
const MAX_INPUT_PIXELS = 268_402_689;

export interface Preview {
  body: Buffer;
  width: number;
  height: number;
}

type SharpFactory = ((input?: string | Buffer, options?: SharpOptions) => Sharp) & { cache: (on: boolean) => unknown };

let loaded: Promise<SharpFactory> | null = null;

function sharp(): Promise<SharpFactory> {
  loaded ??= import('sharp').then((module) => {
    const factory = ((module as { default?: unknown }).default ?? module) as SharpFactory;
    factory.cache(false);
    return factory;
  });
  return loaded;
}

/** The preview of the image at `path`; throws sharp's error when it cannot read it. */
export async function makePreview(path: string): Promise<Preview> {
  const make = await sharp();
  let smallest = Number.POSITIVE_INFINITY;
  for (const { scale, quality } of STEPS) {
    const box = Math.round(PREVIEW_MAX_PX * scale);
    const { data, info } = await make(path, { pages: 1, limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })
      .rotate()
      .resize({ width: box, height: box, fit: 'inside', withoutEnlargement: true })
      // A transparent PNG or GIF on white, as a card shows it, rather than on JPEG's black.
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .jpeg({ quality, mozjpeg: true })
      .toBuffer({ resolveWithObject: true });
    if (data.length <= PREVIEW_MAX_BYTES) return { body: data, width: info.width, height: info.height };
    smallest = Math.min(smallest, data.length);
  }
  throw new Error(`the preview is still ${smallest} bytes at its smallest`);
}
