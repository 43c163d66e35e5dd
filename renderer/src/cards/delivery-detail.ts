// A delivery's detail, in the #detail dialog a row of the list opens: the guest's link and
// its QR code when the event has a session, the payload as sent, the request headers of the
// last attempt, every attempt with its reason, and Retry for a failed one. While it is open
// it follows the agent like the cards.
import { api, image, messageOf } from '../api.js';
import { byId, h } from '../dom.js';
import { duration, localTime, relative } from '../format.js';
import { act, type Card } from '../page.js';
import type { DeliveryDetail } from '../types.js';

/** The id of the delivery the dialog shows, or null when it is closed. */
let openDelivery: string | null = null;
let detailRequest = 0;
/** The link whose code the dialog shows: a live update fetches the code again only when it changes. */
let shownLink: string | null = null;

export const deliveryDetail: Card = {
  setUp() {
    byId('detail-close').addEventListener('click', () => byId<HTMLDialogElement>('detail').close());
    byId<HTMLDialogElement>('detail').addEventListener('close', () => {
      openDelivery = null;
    });
  },
  show() {
    if (openDelivery) void renderDetail();
  },
};

export async function openDetail(id: string): Promise<void> {
  openDelivery = id;
  await renderDetail();
  const dialog = byId<HTMLDialogElement>('detail');
  if (!dialog.open) dialog.showModal();
}

async function renderDetail(): Promise<void> {
  if (!openDelivery) return;
  const request = ++detailRequest;
  const d = await api<DeliveryDetail>('GET', `/api/deliveries/${openDelivery}`);
  if (request !== detailRequest) return;
  byId('detail-title').textContent = `${d.type}${d.test ? ' (test)' : ''} to ${d.endpointUrl}`;
  void showLink(d.sessionId, d.siteUrl);
  const facts: [string, string][] = [
    ['Status', d.status + (d.lastError && d.status !== 'delivered' ? `: ${d.lastError}` : '')],
    ['webhook-id', d.id],
    ['Event', d.eventId],
    ['Session', d.sessionId ?? ''],
    ['Happened', Number.isNaN(Date.parse(d.occurredAt)) ? d.occurredAt : localTime(Date.parse(d.occurredAt))],
    ['Captured', `${localTime(d.capturedAt)} (${relative(d.capturedAt, Date.now())})`],
    ['Delivered', d.deliveredAt ? localTime(d.deliveredAt) : 'not yet'],
  ];
  byId('detail-body').replaceChildren(
    h(
      'div',
      {},
      definitions(facts),
      d.recoverAt === null
        ? null
        : h('p', { class: 'recover' }, `Next automatic retry at ${localTime(d.recoverAt)}. Retry this delivery to send it now.`),
      d.status === 'failed'
        ? h(
            'p',
            {},
            h(
              'button',
              {
                id: 'detail-retry',
                type: 'button',
                class: 'primary',
                onclick: () =>
                  void act(async () => {
                    await api('POST', `/api/deliveries/${d.id}/retry`);
                    await renderDetail();
                  }),
              },
              'Retry this delivery',
            ),
          )
        : null,
      h('h3', {}, 'Payload, as sent'),
      h('pre', {}, d.payload),
      h('h3', {}, 'Request headers (last attempt)'),
      d.requestHeaders ? definitions(Object.entries(d.requestHeaders)) : h('p', {}, 'Not sent yet.'),
      h('h3', {}, `Attempts (${d.attempts.length})`),
      ...d.attempts.map((a, i) =>
        h(
          'div',
          { class: 'attempt' },
          h(
            'strong',
            {},
            `${i + 1}. ${localTime(a.startedAt)} · ${duration(a.durationMs)} · ${a.statusCode !== null ? `HTTP ${a.statusCode}` : (a.error ?? a.outcome)}`,
          ),
          h('p', {}, a.reason),
          a.responseHead ? h('pre', {}, a.responseHead) : null,
        ),
      ),
    ),
  );
}

/** The session's link, opened in a new tab, and its QR code; nothing without a session or once it is erased. */
async function showLink(sessionId: string | null, siteUrl: string | null): Promise<void> {
  byId('detail-link').hidden = siteUrl === null;
  if (siteUrl === shownLink) return;
  shownLink = siteUrl;
  const link = byId<HTMLAnchorElement>('detail-site-url');
  link.href = siteUrl ?? '';
  link.textContent = siteUrl;
  const qr = byId('detail-qr');
  qr.replaceChildren();
  if (sessionId === null || siteUrl === null) return;
  let code: Node;
  try {
    const src = await image(`/api/sessions/${encodeURIComponent(sessionId)}/qr.svg`);
    code = h('img', { src, alt: `QR code of ${siteUrl}` });
  } catch (error) {
    code = h('span', { class: 'field-error' }, `No QR code: ${messageOf(error)}`);
  }
  if (shownLink === siteUrl) qr.replaceChildren(code);
}

/** A list of names and their values. */
function definitions(pairs: [string, string][]): HTMLDListElement {
  return h('dl', {}, ...pairs.flatMap(([name, value]) => [h('dt', {}, name), h('dd', {}, value)]));
}
