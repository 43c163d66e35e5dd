// dslrBooth / LumaBooth triggers (docs/capture-api.md). dslrBooth calls a URL on each booth
// event; the session's state is kept in SQLite (an agent restart mid-session loses nothing)
// and one `session` webhook is made at session_end. Sequences that are out of order or
// partial are handled and logged, never turned into garbage. The logs name a session by its
// id and never hold a trigger's file names or URLs, which can hold a guest's name.
import type { Database } from 'better-sqlite3';
import { ulidFactory } from '../core/ids.js';
import { sessionTypeOfMode, withoutFileName } from '../core/media.js';
import type { ApiIngestResult, BoothCaptureDeps } from './ingest.js';
import { boothSessionId, sessionPayload } from './session-payload.js';

export interface Trigger {
  eventType: string;
  /** param1 … param4, as dslrBooth sent them ('' when absent). */
  params: string[];
}

interface OpenSession {
  seq: number;
  session_id: string;
  mode: string | null;
  final_file: string | null;
  upload_url: string | null;
  started_at: number;
}

/**
 * Erases dslrBooth's records of a guest's sessions: those of the sessions given, or whose
 * files, upload URL or outcome name the guest. Returns how many (with `dryRun`, changing nothing).
 */
export function eraseDslrSessions(
  db: Database,
  guest: { sessionIds: ReadonlySet<string>; mentions: (text: string) => boolean; namesFile: (path: string) => boolean },
  dryRun: boolean,
): number {
  const rows = (
    db.prepare(`SELECT seq, session_id, final_file, upload_url, outcome FROM dslr_sessions`).all() as {
      seq: number;
      session_id: string;
      final_file: string | null;
      upload_url: string | null;
      outcome: string | null;
    }[]
  ).filter(
    (r) =>
      guest.sessionIds.has(r.session_id) ||
      [r.session_id, r.outcome].some((text) => text !== null && guest.mentions(text)) ||
      [r.final_file, r.upload_url].some((path) => path !== null && guest.namesFile(path)),
  );
  if (!dryRun) {
    const remove = db.prepare(`DELETE FROM dslr_sessions WHERE seq = ?`);
    for (const r of rows) remove.run(r.seq);
  }
  return rows.length;
}

const PROGRESS_ONLY = new Set(['countdown_start', 'countdown', 'capture_start', 'sharing_screen', 'file_download']);
const newUlid = ulidFactory();

export class DslrBooth {
  private readonly s;
  /** Triggers are handled one after another, in the order they came, each to its end. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    db: Database,
    private readonly deps: BoothCaptureDeps,
  ) {
    this.s = {
      open: db.prepare(`SELECT * FROM dslr_sessions WHERE ended_at IS NULL ORDER BY seq DESC LIMIT 1`),
      start: db.prepare(`INSERT INTO dslr_sessions (session_id, mode, started_at, updated_at) VALUES (?, ?, ?, ?)`),
      file: db.prepare(`UPDATE dslr_sessions SET final_file = ?, updated_at = ? WHERE seq = ?`),
      upload: db.prepare(
        `UPDATE dslr_sessions SET upload_url = ?, final_file = COALESCE(NULLIF(?, ''), final_file), updated_at = ? WHERE seq = ?`,
      ),
      end: db.prepare(`UPDATE dslr_sessions SET ended_at = ?, outcome = ?, updated_at = ? WHERE seq = ?`),
      prune: db.prepare(`DELETE FROM dslr_sessions WHERE ended_at IS NOT NULL AND ended_at < ?`),
    };
  }

  /** Forgets sessions that ended before `cutoff` (their events are in the outbox). */
  prune(cutoff: number): void {
    this.s.prune.run(cutoff);
  }

  /** Handles a trigger after those before it; resolves once it is handled. */
  handle(trigger: Trigger): Promise<void> {
    const run = this.queue.then(() => this.handleNow(trigger));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves when every trigger received so far is handled. */
  idle(): Promise<void> {
    return this.queue;
  }

  private async handleNow(trigger: Trigger): Promise<void> {
    const now = (this.deps.now ?? Date.now)();
    const open = this.s.open.get() as OpenSession | undefined;
    const { eventType, params } = trigger;
    const [p1 = '', p2 = ''] = params;
    switch (eventType) {
      case 'session_start': {
        if (open) await this.finish(open, now, 'a new session started before session_end');
        const sessionId = boothSessionId(this.deps.settings(), newUlid(now).toLowerCase());
        this.s.start.run(sessionId, p1 || null, now, now);
        this.deps.log.info({ dslrbooth: eventType, session: sessionId, mode: p1 }, 'dslrBooth session started');
        return;
      }
      case 'processing_start': {
        // The original photos, then the final file: the last name given is the final one.
        const final = [...params].reverse().find((p) => p.trim() !== '');
        if (open && final) this.s.file.run(final, now, open.seq);
        return this.unless(open, trigger);
      }
      case 'printing':
        if (open && p1 && !open.final_file) this.s.file.run(p1, now, open.seq);
        return this.unless(open, trigger);
      case 'file_upload':
        if (open && p2) this.s.upload.run(p2, p1, now, open.seq);
        return this.unless(open, trigger);
      case 'session_end':
        if (!open) {
          this.deps.log.warn({ dslrbooth: eventType }, 'session_end without session_start: nothing to send');
          return;
        }
        await this.finish(open, now, null);
        return;
      default:
        if (PROGRESS_ONLY.has(eventType)) return this.unless(open, trigger);
        this.deps.log.warn({ dslrbooth: eventType }, 'unknown dslrBooth event type: ignored');
    }
  }

  private unless(open: OpenSession | undefined, trigger: Trigger): void {
    if (!open) this.deps.log.warn({ dslrbooth: trigger.eventType }, 'dslrBooth event outside a session: ignored');
  }

  /** Ends a session: one session webhook when it has a final file, else a logged reason. */
  private async finish(session: OpenSession, now: number, interruption: string | null): Promise<void> {
    const fresh = this.s.open.get() as OpenSession;
    const file = fresh.final_file;
    let outcome: string;
    if (!file) {
      outcome = interruption ? `${interruption}; it had no final file, so nothing was sent` : 'no final file (cancelled?): nothing sent';
    } else {
      const made = sessionPayload(
        {
          sessionId: session.session_id,
          type: sessionTypeOfMode(fresh.mode),
          file: basename(file),
          upload: this.deps.storageSet() ? file : null,
          uploadUrl: fresh.upload_url,
          at: now,
        },
        this.deps.settings(),
      );
      if (!made.ok) outcome = `not sent: ${made.reason}`;
      else {
        const result = await this.deps.capture(Buffer.from(JSON.stringify(made.payload)));
        outcome = 'id' in result ? `sent as ${result.id}` : `not sent: ${describe(result)}`;
      }
      if (interruption) outcome = `${interruption}; ${outcome}`;
    }
    this.s.end.run(now, outcome, now, session.seq);
    const failed = outcome.includes('not sent') || outcome.includes('nothing');
    const logged = file ? withoutFileName(outcome, file, 'the final file') : outcome;
    this.deps.log[failed ? 'warn' : 'info']({ session: session.session_id, outcome: logged }, 'dslrBooth session ended');
  }
}

/** dslrBooth sends full Windows paths; the media URL wants the file's name. */
function basename(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

function describe(result: Exclude<ApiIngestResult, { kind: 'accepted' | 'duplicate' }>): string {
  return result.kind === 'invalid' ? `${result.error}: ${result.issues.map((i) => `${i.path} ${i.message}`).join('; ')}` : result.error;
}
