// Uploads: the sessions' files on their way to the storage, each with a progress bar, its
// bytes, rate and time left; the failed ones with their reason and Retry. The list is read
// again whenever the agent's state changes, which it does as each part is recorded.
import { api } from '../api.js';
import { byId, h } from '../dom.js';
import { duration, size } from '../format.js';
import { act, type Card } from '../page.js';
import { UploadRates, type UploadSpeed } from '../progress.js';
import type { PanelState, RetryUploadsRequest, UploadPage, UploadView } from '../types.js';

const rates = new UploadRates();
let listRequest = 0;

export const uploads: Card = {
  setUp() {
    byId('uploads-retry-all').addEventListener('click', () => void retry({ all: true }));
  },
  show(state) {
    const { waiting, uploading, failed, bytes, bytesDone } = state.uploads;
    const going = waiting + uploading;
    byId('uploads-summary').textContent =
      going + failed === 0
        ? 'Nothing to upload.'
        : [going > 0 ? `${going} to upload: ${size(bytesDone)} of ${size(bytes)} sent` : null, failed > 0 ? `${failed} failed` : null]
            .filter(Boolean)
            .join(' · ');
    byId('uploads-retry-all').hidden = failed === 0;
    void load(state);
  },
};

/** The uploads under way, waiting and failed (the uploaded ones are `booth-agent uploads`'s). */
async function load(state: PanelState): Promise<void> {
  const request = ++listRequest;
  const { waiting, uploading, failed } = state.uploads;
  const read = async (status: string, count: number) =>
    count === 0 ? { items: [], now: state.now } : api<UploadPage>('GET', `/api/uploads?status=${status}&limit=50`);
  const pages = await Promise.all([read('uploading', uploading), read('waiting', waiting), read('failed', failed)]);
  if (request !== listRequest) return;
  const [under, waits, fails] = pages;
  const speeds = rates.update(under.items, under.now);
  byId('uploads-list').replaceChildren(
    ...under.items.map((u) => row(u, speeds.get(u.id) ?? null)),
    ...waits.items.map((u) => row(u, null)),
    ...fails.items.map((u) => row(u, null)),
  );
}

function row(upload: UploadView, speed: UploadSpeed | null): HTMLLIElement {
  const label = `upload-${upload.id}`;
  const words =
    upload.status === 'uploading'
      ? [
          `${size(upload.bytesDone)} of ${size(upload.size)}`,
          speed?.perSecond ? `${size(speed.perSecond)}/s` : null,
          speed?.remainingMs ? `about ${duration(speed.remainingMs)} left` : null,
        ]
      : upload.status === 'waiting'
        ? [`waiting, ${size(upload.size)}`, upload.lastError]
        : [`failed: ${upload.lastError ?? 'no reason recorded'}`];
  return h(
    'li',
    { class: `upload ${upload.status}`, 'data-status': upload.status },
    h('span', { id: label, class: 'upload-name' }, upload.name),
    ' ',
    upload.status === 'failed' ? null : h('progress', { max: upload.size, value: upload.bytesDone, 'aria-labelledby': label }),
    ' ',
    h('span', { class: 'upload-words' }, words.filter(Boolean).join(' · ')),
    upload.status === 'failed'
      ? h('button', { type: 'button', 'aria-label': `Retry ${upload.name}`, onclick: () => void retry({ id: upload.id }) }, 'Retry')
      : null,
  );
}

function retry(request: RetryUploadsRequest): Promise<void> {
  return act(() => api('POST', '/api/uploads/retry', request));
}
