// The link-card preview, made with the real sharp from real images: a 24-megapixel photo full of
// detail fits in 300 KB and 1200 px, a GIF gives its first frame, a transparent PNG lies on
// white, a photo taken sideways is turned upright, and what is not an image is refused.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { makePreview, PREVIEW_MAX_BYTES, PREVIEW_MAX_PX } from '../../src/guest/preview.js';
import { noisyPhoto } from '../helpers/photo.js';
import { tempDir } from '../helpers/temp.js';

const dir = tempDir('previews-');

function file(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const pixel = async (jpeg: Buffer, x: number, y: number) => {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...data.subarray(at, at + 3)];
};

describe('makePreview', () => {
  it('makes a 24-megapixel photo full of detail into a JPEG of at most 1200 px and 300 KB', async () => {
    const photo = await noisyPhoto(6000, 4000);
    expect(photo.length).toBeGreaterThan(12_000_000);
    const preview = await makePreview(file('24mp.jpg', photo));
    const meta = await sharp(preview.body).metadata();
    expect(meta.format).toBe('jpeg');
    expect({ width: meta.width, height: meta.height }).toEqual({ width: preview.width, height: preview.height });
    expect(preview.width).toBeLessThanOrEqual(PREVIEW_MAX_PX);
    expect(preview.height).toBeLessThanOrEqual(PREVIEW_MAX_PX);
    expect(preview.width / preview.height).toBeCloseTo(1.5, 2);
    expect(preview.body.length).toBeLessThanOrEqual(PREVIEW_MAX_BYTES);
  }, 60_000);

  it('lowers the quality, then the size, for an image too detailed to fit at the first try', async () => {
    const noise = await sharp({
      create: { width: 1200, height: 1200, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 90 } },
    })
      .png()
      .toBuffer();
    const first = await sharp(noise).jpeg({ quality: 82, mozjpeg: true }).toBuffer();
    expect(first.length).toBeGreaterThan(PREVIEW_MAX_BYTES);
    const preview = await makePreview(file('noise.png', noise));
    expect(preview.body.length).toBeLessThanOrEqual(PREVIEW_MAX_BYTES);
    expect(preview.width).toBe(preview.height);
    expect(preview.width).toBeLessThanOrEqual(PREVIEW_MAX_PX);
  });

  it('keeps a photo smaller than 1200 px at its size, and a tall strip within 1200 px high', async () => {
    const small = await makePreview(file('small.jpg', await noisyPhoto(640, 480)));
    expect({ width: small.width, height: small.height }).toEqual({ width: 640, height: 480 });
    const strip = await makePreview(
      file(
        'strip.jpg',
        await sharp({ create: { width: 1200, height: 3600, channels: 3, background: '#3366cc' } })
          .jpeg()
          .toBuffer(),
      ),
    );
    expect({ width: strip.width, height: strip.height }).toEqual({ width: 400, height: 1200 });
  });

  it('takes a GIF’s first frame', async () => {
    const red = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ff0000' } })
      .png()
      .toBuffer();
    const blue = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#0000ff' } })
      .png()
      .toBuffer();
    const gif = await sharp([red, blue], { join: { animated: true } })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const preview = await makePreview(file('anim.gif', gif));
    const [r, g, b] = await pixel(preview.body, 32, 32);
    expect(r).toBeGreaterThan(200);
    expect(g! + b!).toBeLessThan(60);
  });

  it('lays a transparent PNG on white, and turns a sideways photo upright, leaving its metadata out', async () => {
    const clear = await sharp({ create: { width: 50, height: 50, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toBuffer();
    expect((await pixel((await makePreview(file('clear.png', clear))).body, 25, 25)).every((c) => c > 245)).toBe(true);
    const sideways = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#20a020' } })
      .jpeg()
      .withMetadata({ orientation: 6, exif: { IFD0: { Artist: 'a guest' } } })
      .toBuffer();
    const upright = await makePreview(file('sideways.jpg', sideways));
    expect({ width: upright.width, height: upright.height }).toEqual({ width: 200, height: 300 });
    const meta = await sharp(upright.body).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
  });

  it('refuses what is not an image', async () => {
    await expect(makePreview(file('noise.jpg', Buffer.from('not a photo at all')))).rejects.toThrow();
  });
});
