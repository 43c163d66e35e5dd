// The operator's action on the uploads of sessions' files: after fixing the storage (a key, a
// permission, a bucket), the uploads that failed are tried again, one or all. The running
// agent's lane takes them up at once; after a command line's retry, within two seconds.
import { z } from 'zod';
import { parseInput, Refusal, type OperationContext } from './context.js';

const retryInput = z
  .object({
    id: z.string().trim().min(1, 'give the id of an upload (med_…)').optional(),
    all: z.literal(true, { error: 'must be true' }).optional(),
  })
  .strict()
  .refine((input) => (input.id === undefined) !== (input.all === undefined), {
    message: 'give one upload id, or all (not both)',
  });

/** What the operator asks to retry: one upload (`{ id }`) or every failed one (`{ all: true }`). */
export type RetryUploadsRequest = z.input<typeof retryInput>;

/** Puts one failed upload, or every failed one, back in the lane with its attempts counted afresh. */
export function retryUploads(ctx: OperationContext, input: unknown): { retried: number } {
  const { id } = parseInput(retryInput, input);
  if (id === undefined) {
    const retried = ctx.store.media.retryFailed(ctx.now());
    ctx.log.info({ retried, by: 'operator' }, 'retry failed uploads');
    ctx.wake();
    return { retried };
  }
  const result = ctx.store.media.retryOne(id, ctx.now());
  if (!result.ok) {
    if (result.status === null) throw new Refusal('not-found', `there is no upload ${id}`);
    throw new Refusal('conflict', `upload ${id} is ${result.status}; only failed uploads can be retried`);
  }
  ctx.log.info({ media: id, from: 'failed', to: 'waiting', by: 'operator' }, 'upload state');
  ctx.wake();
  return { retried: 1 };
}
