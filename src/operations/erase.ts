// Erasing a guest at the organiser's request (docs/capture-api.md, "Erasing a guest"): every
// event that names them loses its personal data, their deliveries not made yet are dropped,
// the receivers' answers stored with the attempts are cleared, and so are the integrations'
// records of them. An audit entry keeps only a salted hash of the identifier and the counts.
// The files of the guest's sessions go too (a guest's face is personal data): the local copy
// at once, the object in the storage and any upload still open deleted now, or, when the
// storage cannot be reached, owed and carried out by the upload lane when it can.
// What was already delivered cannot be taken back: the answer says where it went.
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { eraseDslrSessions } from '../capture/dslrbooth.js';
import { eraseHotFolderRecords } from '../capture/hot-folder.js';
import { PAYLOAD_TYPES, type PayloadType } from '../core/payload.js';
import { mentions, normaliseEmail, parsePhone, pathMentions, type GuestIdentifier } from '../core/personal-data.js';
import type { AlreadySent, EraseCounts, ErasedEvent, ErasedMedia, EraseResult, StorageErasure } from '../core/read-model.js';
import { uploadProblem } from '../core/upload-outcome.js';
import { storageConfig, openStorage } from '../storage/config.js';
import { deleteStoredFile } from '../storage/delete-object.js';
import { CHUNK_SEQS, inChunks } from '../store/chunks.js';
import {
  addAlreadySent,
  deliveriesOf,
  dropUndelivered,
  eraseMedia,
  eventsNaming,
  mediaOfSessions,
  owedDeletionsOf,
  uploadsUnderWayOf,
  recordErasure,
  responseSnippetsOf,
  stripEvents,
} from '../store/erasure.js';
import { parseInput, type OperationContext } from './context.js';

const eraseSchema = z
  .strictObject({
    email: z
      .string({ error: 'must be an email address' })
      .transform((value, ctx) => normaliseEmail(value) ?? (ctx.addIssue({ code: 'custom', message: 'is not an email address' }), z.NEVER))
      .optional(),
    phone: z
      .string({ error: 'must be a phone number' })
      .transform(
        (value, ctx) =>
          parsePhone(value) ??
          (ctx.addIssue({
            code: 'custom',
            message: 'is not a phone number (at least 7 digits; spaces, dashes, brackets and a leading + allowed)',
          }),
          z.NEVER),
      )
      .optional(),
    session: z.string({ error: 'must be a session id' }).trim().min(1, 'must not be empty').max(200).optional(),
    dryRun: z.boolean({ error: 'must be true or false' }).default(false),
  })
  .superRefine((input, ctx) => {
    const given = [input.email, input.phone, input.session].filter((v) => v !== undefined).length;
    if (given !== 1) ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of email, phone or session' });
  });

export type EraseInput = z.input<typeof eraseSchema>;

/** The identifier as the audit hashes it: the address lower-cased, the number's digits, the session id. */
function normalised(guest: GuestIdentifier): string {
  return guest.kind === 'phone' ? guest.value.digits : guest.value;
}

/**
 * Erases (or with `dryRun` only counts and lists) a guest's personal data, named by exactly
 * one of `email`, `phone` or `session`. Afterwards the WAL is checkpointed, so the erased
 * bytes leave the -wal file too.
 *
 * The events are gone through in chunks of their `seq` (store/chunks.ts), each one short
 * transaction, so capture goes on meanwhile. Each event is erased whole in one of them:
 * its payload stripped and its deliveries not made yet dropped together, so it is never
 * sent half erased. The last chunk reaches the newest event (one captured meanwhile too)
 * and, in the same transaction, erases the integrations' records and writes the audit. An
 * erase interrupted leaves the events it reached erased and the rest as they were; run
 * again, it erases the rest.
 */
export async function eraseGuest(ctx: OperationContext, input: unknown): Promise<EraseResult> {
  const { email, phone, session, dryRun } = parseInput(eraseSchema, input);
  const guest: GuestIdentifier =
    email !== undefined
      ? { kind: 'email', value: email }
      : phone !== undefined
        ? { kind: 'phone', value: phone }
        : { kind: 'session', value: session! };
  const { db } = ctx.store;
  const identifierHash = createHmac('sha256', ctx.store.settings.eraseSalt())
    .update(`${guest.kind}:${normalised(guest)}`)
    .digest('hex');
  const named = (text: string) => mentions(guest, text);
  const now = ctx.now();

  const byType = Object.fromEntries(PAYLOAD_TYPES.map((type) => [type, 0])) as Record<PayloadType, number>;
  const listed: ErasedEvent[] = [];
  const sent = new Map<string, AlreadySent>();
  const eventIds = new Set<string>();
  const sessionIds = new Set<string>(guest.kind === 'session' ? [guest.value] : []);
  let media: ErasedMedia[] = [];
  let responseSnippets = 0;
  let result: EraseResult | undefined;
  const newest = db.prepare('SELECT MAX(seq) FROM events').pluck();
  let from = (db.prepare('SELECT MIN(seq) FROM events').pluck().get() as number | null) ?? 1;
  const chunk = db.transaction(() => {
    const to = from + CHUNK_SEQS - 1;
    const events = eventsNaming(db, guest, from, to);
    listed.push(...deliveriesOf(db, events));
    addAlreadySent(db, events, now, sent);
    responseSnippets += responseSnippetsOf(db, events);
    for (const event of events) {
      byType[event.type] += 1;
      eventIds.add(event.id);
      // A share names the session it shares: that session's files are the guest's too.
      if (event.session_id !== null) sessionIds.add(event.session_id);
    }
    if (!dryRun) {
      // Stripped first: an event whose deliveries are all dropped is then not taken for one sent nowhere.
      stripEvents(db, events, { keepSessionId: guest.kind !== 'session', drop: named }, now);
      dropUndelivered(db, events);
    }
    from = to + 1;
    if (to < ((newest.get() as number | null) ?? 0)) return true;
    const files = mediaOfSessions(db, sessionIds);
    media = files.map(({ localPath: _, ...file }) => file);
    if (!dryRun) eraseMedia(db, files, now);
    const integrations = {
      eventIds,
      sessionIds: new Set(guest.kind === 'session' ? [guest.value] : []),
      mentions: named,
      namesFile: (path: string) => pathMentions(guest, path),
    };
    const counts: EraseCounts = {
      events: byType,
      undeliveredDropped: listed.reduce((sum, e) => sum + e.undelivered, 0),
      responseSnippets,
      hotFolderRecords: eraseHotFolderRecords(db, integrations, dryRun),
      dslrSessions: eraseDslrSessions(db, integrations, dryRun),
      media: media.length,
    };
    const auditId = dryRun ? null : recordErasure(db, { at: now, kind: guest.kind, identifierHash, counts });
    const alreadySent = [...sent.values()].filter((e) => e.delivered + e.attempted > 0);
    result = { dryRun, kind: guest.kind, identifierHash, counts, events: listed, media, storage: null, alreadySent, auditId };
    return false;
  });
  // A dry run changes nothing, so it takes no write lock.
  await inChunks(() => (dryRun ? chunk.deferred() : chunk.immediate()));
  const done = result!;

  if (!dryRun) {
    done.storage = await deleteFromStorage(ctx, sessionIds);
    // TRUNCATE copies the pages into the database (where secure_delete zeroed what was
    // erased) and empties the -wal file, which still held the pages as they were. A reader
    // holding an older snapshot makes it wait (busy_timeout); should it still be busy, the
    // hourly maintenance empties the file.
    const [checkpoint] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    const walEmptied = checkpoint?.busy === 0;
    ctx.log.info(
      { kind: guest.kind, identifierHash, counts: done.counts, storage: done.storage, auditId: done.auditId, walEmptied, by: 'operator' },
      'guest erased',
    );
    ctx.wake();
  }
  return done;
}

/**
 * Deletes the erased files of these sessions from the storage, aborting any upload left open.
 * What cannot be deleted now stays owed: no storage set, a storage that does not answer, or an
 * upload under way, which the upload lane stops first. The upload lane deletes those later.
 */
async function deleteFromStorage(ctx: OperationContext, sessionIds: ReadonlySet<string>): Promise<StorageErasure> {
  const owed = owedDeletionsOf(ctx.store.db, sessionIds);
  const uploading = uploadsUnderWayOf(ctx.store.db, sessionIds);
  const result: StorageErasure = { deleted: 0, owed: owed.length + uploading, reason: null };
  if (uploading > 0) result.reason = 'an upload was under way: the upload lane stops it and deletes what it sent';
  if (owed.length === 0) return result;
  let config;
  try {
    config = storageConfig(ctx.store);
  } catch (error) {
    return { ...result, reason: (error as Error).message };
  }
  if (config === null) return { ...result, reason: 'no storage is set: the files are deleted once one is set again' };
  const s3 = await openStorage(config, ctx.store.settings.read());
  try {
    for (const file of owed) {
      await deleteStoredFile(s3, config.bucket, file);
      ctx.store.media.deletedFromStorage(file.id);
      result.deleted++;
      result.owed--;
    }
  } catch (error) {
    result.reason = uploadProblem(error).reason;
  } finally {
    s3.client.destroy();
  }
  return result;
}
