// The operator's actions on the booth's settings and tokens.
import { settingChangesSchema, type Settings } from '../core/settings.js';
import { parseInput, type OperationContext } from './context.js';

/**
 * Changes any number of settings at once, after checking every one of them (nothing is
 * changed when one is wrong). A running agent applies them within a second; `port` and the
 * timeouts at its next start.
 */
export function changeSettings(ctx: OperationContext, changes: unknown): Readonly<Settings> {
  const valid = parseInput(settingChangesSchema, changes);
  const keys = Object.keys(valid) as (keyof Settings)[];
  ctx.store.settings.writeAll(valid);
  ctx.log.info({ changed: keys, by: 'operator' }, 'settings changed');
  ctx.wake();
  return ctx.store.settings.read();
}

/** Replaces the ingest token; booth software must then use the new one. */
export function rotateIngestToken(ctx: OperationContext): { token: string } {
  const token = ctx.store.settings.rotateToken('ingest_token');
  ctx.log.info({ by: 'operator' }, 'ingest token rotated');
  return { token };
}
