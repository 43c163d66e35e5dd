// The operator's choice of captured events, as export and replay take it: since, until
// (ISO 8601, on the capture time), types, and the organiser's event id.
import { z } from 'zod';
import type { EventSelection } from '../store/event-selection.js';
import { payloadTypes } from './endpoints.js';

const TIME_MESSAGE = 'must be an ISO 8601 date or date-time, e.g. 2026-06-01, 2026-06-01T09:00 (the booth’s time) or 2026-06-01T09:00:00Z';

/** A date is its first moment, and a date-time without an offset the booth's own time. */
const time = z
  .union([z.iso.date(), z.iso.datetime({ offset: true, local: true })], { error: TIME_MESSAGE })
  .transform((text) => Date.parse(text.length === 10 ? `${text}T00:00` : text));

const organiserEventId = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)], {
  error: "must be the organiser's event id, a whole number",
});

/** The fields of a selection, for an operation's input schema. */
export const selectionFields = {
  event: organiserEventId.optional(),
  since: time.optional(),
  until: time.optional(),
  /** Null or left out: every type. */
  types: payloadTypes.optional(),
};

/** Refuses a time range that ends before it starts. */
export function checkRange(value: { since?: number | undefined; until?: number | undefined }, ctx: z.RefinementCtx): void {
  if (value.since !== undefined && value.until !== undefined && value.until <= value.since) {
    ctx.addIssue({ code: 'custom', path: ['until'], message: 'must be later than since' });
  }
}

export function toSelection(value: {
  event?: number | undefined;
  since?: number | undefined;
  until?: number | undefined;
  types?: EventSelection['types'] | undefined;
}): EventSelection {
  return { since: value.since ?? null, until: value.until ?? null, types: value.types ?? null, organiserEventId: value.event ?? null };
}
