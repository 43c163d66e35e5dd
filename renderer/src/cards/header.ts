// The header: the one sentence to read first, the counts, whether it is safe to pack up,
// the backlog draining after an outage, warnings, and Pause and Retry all failed.
import { api } from '../api.js';
import { byId, h } from '../dom.js';
import { clock, duration, headline, relative, size } from '../format.js';
import { act, type Card } from '../page.js';
import { DrainTracker } from '../progress.js';
import type { PanelState } from '../types.js';

const CLOCK_SKEW_LIMIT_MS = 5 * 60 * 1000;

const drain = new DrainTracker();
/** Whether the button now says Resume: as the last state had it. */
let paused = false;

export const header: Card = {
  setUp() {
    byId('pause').addEventListener('click', () => void act(() => api('POST', paused ? '/api/resume' : '/api/pause')));
    byId('retry-all').addEventListener('click', () => void act(() => api('POST', '/api/deliveries/retry-failed')));
  },
  show: renderHeader,
};

function renderHeader(state: PanelState): void {
  paused = state.paused;
  const line = headline(state);
  const title = byId('headline');
  title.textContent = line.text;
  title.dataset.tone = line.tone;
  const { counts } = state;
  const uploading = state.uploads.waiting + state.uploads.uploading;
  const last =
    state.lastDeliveredAt === null
      ? 'nothing delivered yet'
      : `last delivered ${relative(state.lastDeliveredAt, Date.now())} (${clock(state.lastDeliveredAt)})`;
  byId('summary').textContent = [
    `${counts.delivered} delivered`,
    `${counts.queued} queued`,
    `${counts.waiting} waiting`,
    `${counts.failed} failed`,
    state.online ? 'online' : `offline since ${clock(state.heldSince ?? Date.now())}`,
    uploading > 0 ? `uploading ${uploading} photo${uploading === 1 ? '' : 's'} (${size(state.uploads.bytes)})` : null,
    state.uploads.failed > 0 ? `${state.uploads.failed} upload${state.uploads.failed === 1 ? '' : 's'} failed` : null,
    last,
  ]
    .filter(Boolean)
    .join(' · ');
  const packUp = byId('pack-up');
  packUp.textContent = state.closeout.safe
    ? `Safe to pack up: ${state.closeout.verdict.replace(/^safe to pack up: /, '')}`
    : `Not safe to pack up yet: ${state.closeout.verdict.replace(/^not safe to pack up: /, '')}`;
  packUp.dataset.safe = String(state.closeout.safe);
  byId('pause').textContent = state.paused ? 'Resume delivery' : 'Pause delivery';
  byId('retry-all').hidden = counts.failed === 0;

  const progress = drain.update(counts, Date.now());
  byId('progress').hidden = progress === null;
  if (progress) {
    const bar = byId<HTMLProgressElement>('progress-bar');
    bar.max = progress.total;
    bar.value = progress.sent;
    const rate = progress.perSecond === null ? '' : `, ${progress.perSecond.toFixed(1)} per second`;
    const left = progress.remainingMs === null ? '' : `, about ${duration(progress.remainingMs)} left`;
    byId('progress-text').textContent = `Catching up: ${progress.sent} of ${progress.total} sent${rate}${left}`;
  }

  const warnings = state.endpoints.flatMap((e) => {
    const found: string[] = [];
    if (e.clockSkewMs !== null && Math.abs(e.clockSkewMs) > CLOCK_SKEW_LIMIT_MS) {
      found.push(
        `The booth's clock is ${duration(Math.abs(e.clockSkewMs))} ${e.clockSkewMs > 0 ? 'behind' : 'ahead of'} ${e.url}: receivers that check signatures' timestamps will reject webhooks. Set the booth's clock.`,
      );
    }
    if (!e.enabled && e.disabledReason && e.disabledReason !== 'disabled by the operator')
      found.push(`${e.url} was disabled: ${e.disabledReason}`);
    return found;
  });
  if (state.managedConfigProblem) warnings.push(`The managed configuration was not applied: ${state.managedConfigProblem}`);
  byId('warnings').replaceChildren(...warnings.map((w) => h('li', {}, w)));
}
