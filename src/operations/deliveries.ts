// The operator's actions on deliveries: retry one failed delivery, retry every failed one,
// pause and resume delivery (captures still go into the outbox while paused).
import { Refusal, type OperationContext } from './context.js';

/** Puts one failed delivery back in the queue with a fresh set of attempts; its history stays. */
export function retryDelivery(ctx: OperationContext, deliveryId: string): { retried: 1; id: string } {
  const result = ctx.store.queue.retry(deliveryId, ctx.now());
  if (!result.ok) {
    if (result.status === null) throw new Refusal('not-found', `there is no delivery ${deliveryId}`);
    throw new Refusal('conflict', `delivery ${deliveryId} is ${result.status}; only failed deliveries can be retried`);
  }
  ctx.log.info({ delivery: deliveryId, from: 'failed', to: 'queued', by: 'operator' }, 'delivery state');
  ctx.wake();
  return { retried: 1, id: deliveryId };
}

/** Puts every failed delivery back in the queue. */
export function retryAllFailed(ctx: OperationContext): { retried: number } {
  const retried = ctx.store.queue.retryAllFailed(ctx.now());
  ctx.log.info({ retried, by: 'operator' }, 'retry all failed');
  ctx.wake();
  return { retried };
}

/** Pauses (or resumes) delivery; attempts in flight finish, nothing new starts. */
export function setPaused(ctx: OperationContext, paused: boolean): { paused: boolean } {
  ctx.store.settings.write('paused', paused);
  ctx.log.info({ by: 'operator' }, paused ? 'delivery paused' : 'delivery resumed');
  ctx.wake();
  return { paused };
}
