// Deliveries: the list, newest first, filtered by status and type, searched by session id
// and paged with a cursor; a row opens its detail. Export downloads the captured events.
import { api, download, messageOf } from '../api.js';
import { byId, h } from '../dom.js';
import { clock, isPayloadType, localTime, relative, TYPE_WORDS } from '../format.js';
import type { Card } from '../page.js';
import type { DeliveryPage } from '../types.js';
import { openDetail } from './delivery-detail.js';

/** The cursor of each page seen, the first (null) being the newest; the last is the one shown. */
const pages: (number | null)[] = [null];
let nextCursor: number | null = null;
let listRequest = 0;

export const deliveries: Card = {
  setUp() {
    setUpList();
    setUpExport();
  },
  show() {
    // Only the newest page follows the agent: an older one stays as the operator paged to it.
    if (pages.length === 1) void loadDeliveries();
  },
};

function setUpList(): void {
  byId<HTMLFormElement>('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    showNewest();
  });
  for (const id of ['filter-status', 'filter-type']) byId(id).addEventListener('change', showNewest);
  byId('older').addEventListener('click', () => {
    if (nextCursor === null) return;
    pages.push(nextCursor);
    void loadDeliveries();
  });
  byId('newest').addEventListener('click', showNewest);
}

function showNewest(): void {
  pages.splice(1);
  void loadDeliveries();
}

function setUpExport(): void {
  byId<HTMLFormElement>('export').addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new URLSearchParams({ format: byId<HTMLSelectElement>('export-format').value });
    // The list can show alerts, but an export holds the booth's events only: with an alert
    // type chosen it holds every one of them.
    const chosen = byId<HTMLSelectElement>('filter-type').value;
    const type = isPayloadType(chosen) ? chosen : null;
    if (type) query.set('type', type);
    const said = byId('export-result');
    said.textContent = 'Exporting…';
    download(`/api/export?${query}`)
      .then(({ file, name }) => {
        const href = URL.createObjectURL(file);
        h('a', { href, download: name }).click();
        // The browser reads the file after this task; let it go once it surely has.
        setTimeout(() => URL.revokeObjectURL(href), 10_000);
        const scope = type ? ` (${TYPE_WORDS[type].toLowerCase()} only)` : chosen ? ' (every event: alerts are not exported)' : '';
        said.textContent = `Saved ${name}${scope}.`;
      })
      .catch((error: unknown) => (said.textContent = messageOf(error)));
  });
}

function filterQuery(): URLSearchParams {
  const form = byId<HTMLFormElement>('filters');
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(form)) if (typeof value === 'string' && value.trim()) query.set(name, value.trim());
  const before = pages[pages.length - 1];
  if (before !== null && before !== undefined) query.set('before', String(before));
  return query;
}

async function loadDeliveries(): Promise<void> {
  // Live updates can overlap: only the answer to the latest request may be shown.
  const request = ++listRequest;
  const { items, next } = await api<DeliveryPage>('GET', `/api/deliveries?${filterQuery()}`);
  if (request !== listRequest) return;
  nextCursor = next;
  const now = Date.now();
  byId('deliveries').replaceChildren(
    ...items.map((d) =>
      h(
        'tr',
        {
          tabindex: 0,
          'data-delivery': d.id,
          onclick: () => void openDetail(d.id),
          onkeydown: (e) => {
            if ((e as KeyboardEvent).key === 'Enter') void openDetail(d.id);
          },
        },
        h('td', { title: localTime(d.capturedAt) }, `${clock(d.capturedAt)} · ${relative(d.capturedAt, now)}`),
        h('td', {}, d.type, d.test ? ' (test)' : ''),
        h('td', {}, d.sessionId ?? ''),
        h('td', { title: d.endpointUrl }, d.endpointUrl),
        h('td', {}, h('span', { class: `badge ${d.status}` }, d.status)),
        h('td', {}, String(d.attemptsUsed)),
        h(
          'td',
          {
            title: [d.lastError, d.recoverAt === null ? null : `next automatic retry at ${localTime(d.recoverAt)}`]
              .filter(Boolean)
              .join('; '),
          },
          d.status === 'delivered' ? `delivered ${d.deliveredAt ? relative(d.deliveredAt, now) : ''}` : (d.lastError ?? ''),
          d.recoverAt === null ? null : h('span', { class: 'recover' }, `next automatic retry at ${clock(d.recoverAt)}`),
        ),
      ),
    ),
  );
  byId('deliveries-empty').hidden = items.length > 0;
  byId<HTMLButtonElement>('older').disabled = next === null;
  byId<HTMLButtonElement>('newest').disabled = pages.length === 1;
}
