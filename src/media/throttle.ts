// upload_max_kbps: one token bucket for every upload at once, so the booth's uplink keeps room
// for the webhooks and the booth program's own traffic. A body is handed to the storage client
// as a stream of small chunks, each let through when the bucket has room for it.
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

const CHUNK_BYTES = 16 * 1024;
/** The most the bucket holds: a quarter of a second's worth, so a pause is not made up in a burst. */
const BURST_SECONDS = 0.25;

export class Throttle {
  private available = 0;
  private last: number;

  constructor(
    /** The cap now, in kilobits per second; null: none. */
    private readonly kbps: () => number | null,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.last = this.now();
  }

  /** The body as it should be sent: the buffer itself when there is no cap, else a paced stream. */
  body(bytes: Buffer, signal: AbortSignal): Buffer | Readable {
    if (this.kbps() === null) return bytes;
    const paced = Readable.from(this.paced(bytes, signal), { objectMode: false });
    // A stop aborts the request, which reports it; by then the client has let go of the body,
    // whose own abort error would be thrown with nobody listening.
    paced.on('error', () => undefined);
    return paced;
  }

  private async *paced(bytes: Buffer, signal: AbortSignal): AsyncGenerator<Buffer> {
    for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
      const chunk = bytes.subarray(offset, offset + CHUNK_BYTES);
      await this.take(chunk.length, signal);
      yield chunk;
    }
  }

  /** Waits until `bytes` may go. The bucket may run into debt; whoever takes next waits it off. */
  async take(bytes: number, signal: AbortSignal): Promise<void> {
    const kbps = this.kbps();
    if (kbps === null) return;
    const rate = (kbps * 1000) / 8;
    const now = this.now();
    this.available = Math.min(rate * BURST_SECONDS, this.available + ((now - this.last) / 1000) * rate);
    this.last = now;
    this.available -= bytes;
    if (this.available < 0) await sleep((-this.available / rate) * 1000, undefined, { signal });
  }
}
