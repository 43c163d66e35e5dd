// "Safe to pack up?" (docs/capture-api.md, "Safe to pack up"): the deliveries of each
// endpoint by status, the sessions' files not in the storage yet, what is still on the
// booth's disk, and what to do about it. A read:
// it changes nothing, so it neither logs nor wakes the delivery loop.
import { z } from 'zod';
import { closeoutReport } from '../core/closeout.js';
import type { CloseoutReport } from '../core/read-model.js';
import { publicEndpoint } from '../store/endpoints.js';
import { parseInput, type OperationContext } from './context.js';

const closeoutSchema = z.strictObject({
  /** The organiser's event (a payload's event_id); left out: every event on the booth. */
  event: z.coerce
    .number({ error: 'must be an event id (a whole number)' })
    .int('must be an event id (a whole number)')
    .nonnegative('must not be negative')
    .optional(),
});

export type CloseoutInput = z.input<typeof closeoutSchema>;

export function closeout(ctx: OperationContext, input: unknown): CloseoutReport {
  const { event } = parseInput(closeoutSchema, input);
  const { store } = ctx;
  const eventId = event ?? null;
  const counts = store.views.closeoutByEndpoint(eventId);
  const recovering = store.views.recoveringByEndpoint(eventId);
  const endpoints = store.endpoints
    .list()
    .map(publicEndpoint)
    .map((e) => ({
      endpointId: e.id,
      url: e.url,
      enabled: e.enabled,
      disabledReason: e.disabledReason,
      unreachableSince: e.unreachableSince,
      ...(counts.get(e.id) ?? { queued: 0, waiting: 0, delivered: 0, failed: 0 }),
      recovering: recovering.get(e.id) ?? { count: 0, nextAt: null },
    }));
  return closeoutReport({
    eventId,
    endpoints,
    unsent: store.views.unsentCount(eventId),
    media: store.views.mediaOnlyHere(eventId),
    paused: store.settings.read().paused,
    now: ctx.now(),
  });
}
