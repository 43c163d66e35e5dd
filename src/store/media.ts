// The media table (migration 140): the files the agent holds for sessions, and where their
// uploads stand. What capture writes with its event is in queue.ts, in the event's transaction.
import type { Database } from 'better-sqlite3';
import type { TakenFile } from '../media/intake.js';

export class MediaStore {
  private readonly s;

  constructor(db: Database) {
    this.s = {
      received: db.prepare(`
        SELECT id, name, local_path AS localPath, size, sha256, content_type AS contentType FROM media INDEXED BY media_by_session
        WHERE session_id = ? AND name = ? AND event_id IS NULL AND erased_at IS NULL ORDER BY seq DESC LIMIT 1`),
      urlOfEvent: db.prepare(`SELECT url FROM media WHERE event_id = ?`).pluck(),
    };
  }

  /** The file last sent with PUT for this session under this name that no event has named yet. */
  received(sessionId: string, name: string): TakenFile | null {
    return (this.s.received.get(sessionId, name) as TakenFile | undefined) ?? null;
  }

  /** The link of the file an event named, or null when it named none. */
  urlOfEvent(eventId: string): string | null {
    return (this.s.urlOfEvent.get(eventId) as string | null | undefined) ?? null;
  }
}
