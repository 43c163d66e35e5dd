// A survey captured while large uploads crawl is delivered as fast as one captured with no upload
// at all: the upload lane runs beside the delivery loop and holds up nothing but its own
// session's webhooks. Two videos fill the lane (two uploads at once), paced by upload_max_kbps
// to 50 kB a second, and each survey's time from capture to the receiver is compared with the
// same before they began.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PART_BYTES } from '../../src/media/uploader.js';
import { mediaBooth, useMediaServices } from '../helpers/media.js';
import { waitFor } from '../helpers/wait.js';

const SURVEYS = 20;
/** What "as fast" allows: the benchmark's bound for the same figure. */
const SLACK_MS = 50;

const m = useMediaServices();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('a survey during a throttled large upload', () => {
  it('is delivered as fast as without the upload', async () => {
    const b = await mediaBooth(m, m.storage(), { upload_max_kbps: 400 });
    try {
      let n = 0;
      /** Captures a survey and answers how long it took to reach the receiver. */
      const survey = async () => {
        const id = `lead-${++n}`;
        const body = JSON.stringify({
          type: 'survey',
          session: { id, type: 'still', direct_url: 'https://x.test/a', site_url: 'https://x.test/a' },
          survey: { completed_at: '2026-06-01T10:00:00Z', data_capture: { sections: [] } },
        });
        const started = Date.now();
        expect((await b.t.post(body)).status).toBe(202);
        const received = await waitFor(
          `survey ${id}`,
          () => m.receiver.requests.find((r) => JSON.parse(r.body.toString()).session?.id === id),
          5_000,
          2,
        );
        return received.at - started;
      };
      // Not counted: the first opens the connection to the receiver, and the code is still warming up.
      for (let i = 0; i < SURVEYS / 2; i++) await survey();
      const alone: number[] = [];
      for (let i = 0; i < SURVEYS; i++) alone.push(await survey());

      await b.capture('clip-1', randomBytes(2 * PART_BYTES + 1), 'clip-1.mp4');
      await b.capture('clip-2', randomBytes(2 * PART_BYTES + 1), 'clip-2.mp4');
      const inFlight = () =>
        new Set(m.s3.requests.filter((r) => r.operation === 'UploadPart' && r.status === 0 && r.received > 0).map((r) => r.key));
      await waitFor('both clips sending their first part', () => inFlight().size === 2, 10_000);
      const during: number[] = [];
      for (let i = 0; i < SURVEYS; i++) during.push(await survey());
      // Still crawling when the last survey went: the lane was full all along.
      expect(inFlight().size).toBe(2);
      expect([b.media('clip-1').status, b.media('clip-2').status]).toEqual(['uploading', 'uploading']);

      const summary = `alone ${alone.join(', ')} ms; during the uploads ${during.join(', ')} ms`;
      expect(median(during), summary).toBeLessThanOrEqual(median(alone) + SLACK_MS);
    } finally {
      await b.t.stop();
    }
  }, 60_000);
});
