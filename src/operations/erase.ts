// Erasing a guest at the organiser's request (docs/capture-api.md, "Erasing a guest"): every
// event that names them loses its personal data, their deliveries not made yet are dropped,
// the receivers' answers stored with the attempts are cleared, and so are the integrations'
// records of them. An audit entry keeps only a salted hash of the identifier and the counts.
// What was already delivered cannot be taken back: the answer says where it went.
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { eraseDslrSessions } from '../capture/dslrbooth.js';
import { eraseHotFolderRecords } from '../capture/hot-folder.js';
import { PAYLOAD_TYPES, type PayloadType } from '../core/payload.js';
import { mentions, normaliseEmail, parsePhone, type GuestIdentifier } from '../core/personal-data.js';
import type { EraseCounts, EraseResult } from '../core/read-model.js';
import {
  alreadySent,
  deliveriesOf,
  dropUndelivered,
  eventsNaming,
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
 */
export function eraseGuest(ctx: OperationContext, input: unknown): EraseResult {
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

  const result = db
    .transaction((): EraseResult => {
      const events = eventsNaming(db, guest);
      const listed = deliveriesOf(db, events);
      const sent = alreadySent(db, events, now);
      const byType = Object.fromEntries(PAYLOAD_TYPES.map((type) => [type, 0])) as Record<PayloadType, number>;
      for (const event of events) byType[event.type] += 1;
      const integrations = {
        eventIds: new Set(events.map((e) => e.id)),
        sessionIds: new Set(guest.kind === 'session' ? [guest.value] : []),
        mentions: named,
      };
      const counts: EraseCounts = {
        events: byType,
        undeliveredDropped: listed.reduce((sum, e) => sum + e.undelivered, 0),
        responseSnippets: responseSnippetsOf(db, events),
        hotFolderRecords: eraseHotFolderRecords(db, integrations, dryRun),
        dslrSessions: eraseDslrSessions(db, integrations, dryRun),
      };
      let auditId: number | null = null;
      if (!dryRun) {
        // Stripped first: an event whose deliveries are all dropped is then not taken for one sent nowhere.
        stripEvents(db, events, { keepSessionId: guest.kind !== 'session', drop: named }, now);
        dropUndelivered(db, events);
        auditId = recordErasure(db, { at: now, kind: guest.kind, identifierHash, counts });
      }
      return { dryRun, kind: guest.kind, identifierHash, counts, events: listed, alreadySent: sent, auditId };
    })
    .immediate();

  if (!dryRun) {
    // TRUNCATE copies the pages into the database (where secure_delete zeroed what was
    // erased) and empties the -wal file, which still held the pages as they were. A reader
    // holding an older snapshot makes it wait (busy_timeout); should it still be busy, the
    // hourly maintenance empties the file.
    const [checkpoint] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    const walEmptied = checkpoint?.busy === 0;
    ctx.log.info(
      { kind: guest.kind, identifierHash, counts: result.counts, auditId: result.auditId, walEmptied, by: 'operator' },
      'guest erased',
    );
    ctx.wake();
  }
  return result;
}
