// Photos made for a test with sharp: real JPEGs whose every pixel differs (noise), which is
// the hardest kind of photo to make small.
import sharp from 'sharp';

export function noisyPhoto(width: number, height: number, quality = 92): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
    .jpeg({ quality })
    .toBuffer();
}
