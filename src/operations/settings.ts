// The operator's actions on the booth's settings and tokens.
import { settingChangesSchema, type Settings } from '../core/settings.js';
import { parseInput, Refusal, type OperationContext } from './context.js';

/**
 * Changes any number of settings at once, after checking every one of them (nothing is
 * changed when one is wrong). A running agent applies them within a second; `port` and the
 * timeouts at its next start. A page template is read and checked whole now, so that a
 * mistake in it is told to the operator who set it rather than found by a guest's upload.
 */
export async function changeSettings(ctx: OperationContext, changes: unknown): Promise<Readonly<Settings>> {
  const valid = parseInput(settingChangesSchema, changes);
  if (typeof valid.guest_page_template === 'string') {
    const { templateFileProblem } = await import('../guest/page.js');
    const problem = await templateFileProblem(valid.guest_page_template);
    if (problem !== null) throw Refusal.invalid([{ path: 'guest_page_template', message: problem }]);
  }
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
