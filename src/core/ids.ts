// Ids are ULIDs: sortable by creation, as docs/webhooks.md gives `webhook-id`. The ulid
// package asks the operating system for one random byte per character; on the capture
// path that cost more than the event's SQL. These draw the bytes from a pool refilled
// 4 KiB at a time, from the same cryptographic source.
import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const pool = new Uint8Array(4096);
let taken = pool.length;

function pooledRandom(): number {
  if (taken === pool.length) {
    randomFillSync(pool);
    taken = 0;
  }
  return pool[taken++]! / 256;
}

/** A ULID generator whose ids, even within one millisecond, sort in the order they were made. */
export function ulidFactory(): (now?: number) => string {
  return monotonicFactory(pooledRandom);
}
