// The operator's action on the uploads of sessions' files: after fixing the storage (a key, a
// permission, a bucket), the uploads that failed are tried again. The upload lane of a running
// agent finds them within two seconds, whichever process made the change.
import type { OperationContext } from './context.js';

/** Puts every failed upload back in the lane, with its attempts counted afresh. */
export function retryFailedUploads(ctx: OperationContext): { retried: number } {
  const retried = ctx.store.media.retryFailed(ctx.now());
  ctx.log.info({ retried, by: 'operator' }, 'retry failed uploads');
  return { retried };
}
