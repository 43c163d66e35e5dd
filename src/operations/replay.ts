// Sending earlier events to an endpoint: a CRM added in the middle of an event gets the
// morning's leads. The events it never had get new deliveries; with `again`, those it
// already received are sent again under their own webhook-ids, so it can drop repeats.
import { z } from 'zod';
import type { ReplayResult } from '../core/read-model.js';
import { parseInput, Refusal, type OperationContext } from './context.js';
import { checkRange, selectionFields, toSelection } from './event-selection.js';

const replaySchema = z.strictObject({ ...selectionFields, again: z.boolean().default(false) }).superRefine(checkRange);

export type ReplayInput = z.input<typeof replaySchema>;

/**
 * Queues the selected captured events (no Send Test events, only the types the endpoint
 * subscribes to) to one enabled endpoint, and says what became of each: queued, sent
 * again, or skipped and why. The events are those captured when it starts, taken in short
 * transactions (store/chunks.ts), so capture goes on meanwhile; run again after an
 * interruption, it queues what the first run did not reach.
 */
export async function replayToEndpoint(ctx: OperationContext, endpointId: string, input: unknown): Promise<ReplayResult> {
  const endpoint = ctx.store.endpoints.get(endpointId);
  if (!endpoint) throw new Refusal('not-found', `there is no endpoint ${endpointId}`);
  const { again, ...chosen } = parseInput(replaySchema, input);
  if (!endpoint.enabled) {
    throw new Refusal(
      'conflict',
      `endpoint ${endpointId} is disabled${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}; enable it before sending it events`,
    );
  }
  const selection = toSelection(chosen);
  const counts = await ctx.store.queue.replay(endpointId, selection, endpoint.types, again, ctx.now());
  if (!counts) throw new Refusal('not-found', `endpoint ${endpointId} was removed while the events were replayed to it`);
  ctx.log.info({ endpoint: endpointId, selection, again, ...counts, by: 'operator' }, 'events replayed');
  ctx.wake();
  return { endpointId, ...counts };
}
