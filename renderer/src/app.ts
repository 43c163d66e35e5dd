// The operator's panel. Everything it shows comes from the admin API; the header and the
// lists follow /api/stream, so they change by themselves within a moment of a change.
import { adminToken, api, ApiError, download, follow, type Issue } from './api.js';
import { drawChart } from './chart.js';
import { byId, h } from './dom.js';
import { clock, duration, headline, localTime, relative } from './format.js';
import { DrainTracker } from './progress.js';
import type {
  AddedEndpoint,
  DayStats,
  DeliveryDetail,
  DeliveryPage,
  EndpointView,
  EraseResult,
  PanelState,
  PayloadType,
  ReplayResult,
  RevealedSecret,
  RotatedSecret,
  TestResult,
  VerifyReport,
} from './types.js';

const CLOCK_SKEW_LIMIT_MS = 5 * 60 * 1000;
const TYPE_WORDS: Record<PayloadType, string> = {
  session: 'Photo sessions',
  share: 'Shares',
  survey: 'Surveys',
  competition_win: 'Prize wins',
};
/** Every payload type, in the order the page offers them (TYPE_WORDS names each one). */
const PAYLOAD_TYPES = Object.keys(TYPE_WORDS) as PayloadType[];
const ALERT_WORDS: Record<string, string> = { 'agent.*': 'Alerts' };
const typeWords = (type: string) => TYPE_WORDS[type as PayloadType] ?? ALERT_WORDS[type] ?? type;

let current: PanelState | null = null;
const drain = new DrainTracker();

// ---- header -------------------------------------------------------------------------

function renderHeader(state: PanelState): void {
  const line = headline(state);
  const title = byId('headline');
  title.textContent = line.text;
  title.dataset.tone = line.tone;
  const { counts } = state;
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
    last,
  ].join(' · ');
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

// ---- endpoints ----------------------------------------------------------------------

interface EndpointUi {
  result?: { ok: boolean; text: string };
  secret?: string;
  editing?: boolean;
  busy?: boolean;
}
const endpointUi = new Map<string, EndpointUi>();
let renderedEndpoints = '';

function ui(id: string): EndpointUi {
  let entry = endpointUi.get(id);
  if (!entry) endpointUi.set(id, (entry = {}));
  return entry;
}

function renderEndpoints(force = false): void {
  if (!current) return;
  const key = JSON.stringify([current.endpoints, [...endpointUi]]);
  if (!force && key === renderedEndpoints) return;
  renderedEndpoints = key;
  const list = byId('endpoints');
  const focused = document.activeElement?.id;
  list.replaceChildren(
    ...(current.endpoints.length === 0
      ? [h('li', { class: 'empty' }, 'No endpoint yet: add the URL of your CRM, Zapier, Make or n8n webhook below.')]
      : current.endpoints.map(endpointCard)),
  );
  if (focused) document.getElementById(focused)?.focus();
}

function endpointCard(endpoint: EndpointView): HTMLElement {
  const state = ui(endpoint.id);
  const id = (what: string) => `${what}-${endpoint.id}`;
  const status = !endpoint.enabled
    ? h('span', { class: 'bad' }, `disabled${endpoint.disabledReason ? `: ${endpoint.disabledReason}` : ''}`)
    : endpoint.unreachableSince !== null
      ? h('span', { class: 'bad' }, `cannot be reached since ${clock(endpoint.unreachableSince)}`)
      : 'enabled';
  const types = endpoint.types === null ? 'all events' : endpoint.types.map(typeWords).join(', ');
  const testType = h(
    'select',
    { id: id('test-type'), 'aria-label': `Test event type for ${endpoint.url}` },
    ...PAYLOAD_TYPES.map((t) => h('option', { value: t }, t)),
  );

  return h(
    'li',
    { class: 'endpoint', 'data-endpoint': endpoint.id },
    h('div', { class: 'url' }, endpoint.url),
    h(
      'div',
      { class: 'meta' },
      types,
      endpoint.strictOrder ? ' · one at a time' : endpoint.inFlightLimit !== null ? ` · up to ${endpoint.inFlightLimit} at once` : '',
      ' · ',
      status,
    ),
    h(
      'div',
      { class: 'row' },
      h('button', { id: id('verify'), type: 'button', disabled: state.busy, onclick: () => void verify(endpoint) }, 'Verify'),
      testType,
      h(
        'button',
        {
          id: id('test'),
          type: 'button',
          disabled: state.busy,
          onclick: () => void sendTestEvent(endpoint, testType.value as PayloadType),
        },
        'Send test',
      ),
      h(
        'button',
        { id: id('toggle'), type: 'button', onclick: () => void change(endpoint, { enabled: !endpoint.enabled }) },
        endpoint.enabled ? 'Disable' : 'Enable',
      ),
      h(
        'button',
        {
          id: id('edit'),
          type: 'button',
          'aria-expanded': String(Boolean(state.editing)),
          onclick: () => {
            state.editing = !state.editing;
            renderEndpoints(true);
          },
        },
        'Edit',
      ),
      h(
        'button',
        { id: id('replay'), type: 'button', disabled: state.busy || !endpoint.enabled, onclick: () => void sendEarlierEvents(endpoint) },
        'Send earlier events',
      ),
      h('button', { id: id('remove'), type: 'button', class: 'danger', onclick: () => void remove(endpoint) }, 'Remove'),
    ),
    secretRow(endpoint, state, id),
    state.editing ? editForm(endpoint, id) : null,
    state.result ? h('p', { class: 'result', role: 'status', 'data-ok': String(state.result.ok) }, state.result.text) : null,
  );
}

function secretRow(endpoint: EndpointView, state: EndpointUi, id: (what: string) => string): HTMLElement {
  const rotation = endpoint.rotationPending
    ? h(
        'span',
        {},
        ` Rotated: the old secret still signs webhook-signature until ${endpoint.previousSecretUntil ? localTime(endpoint.previousSecretUntil) : 'confirmed'}, and X-Signature uses it until you confirm. `,
        h(
          'button',
          { id: id('confirm-rotation'), type: 'button', onclick: () => void confirmRotation(endpoint) },
          'Receivers updated: confirm',
        ),
      )
    : null;
  return h(
    'div',
    { class: 'row secret' },
    'Secret: ',
    state.secret ? h('code', { id: id('secret') }, state.secret) : h('span', {}, '••••••••'),
    h('button', { id: id('reveal'), type: 'button', onclick: () => void toggleSecret(endpoint) }, state.secret ? 'Hide' : 'Reveal'),
    h('button', { id: id('copy-secret'), type: 'button', onclick: () => void copySecret(endpoint) }, 'Copy'),
    h('button', { id: id('rotate'), type: 'button', onclick: () => void rotate(endpoint) }, 'Rotate'),
    rotation,
  );
}

function editForm(endpoint: EndpointView, id: (what: string) => string): HTMLElement {
  const url = h('input', { id: id('edit-url'), type: 'url', value: endpoint.url, 'aria-describedby': id('edit-url-error') });
  const boxes = PAYLOAD_TYPES.map((t) =>
    h('input', { type: 'checkbox', value: t, checked: endpoint.types === null || endpoint.types.includes(t) }),
  );
  const strict = h('input', { type: 'checkbox', checked: endpoint.strictOrder });
  const urlError = h('p', { id: id('edit-url-error'), class: 'field-error', role: 'alert' });
  const typesError = h('p', { class: 'field-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'edit', novalidate: true },
    h('label', { for: id('edit-url') }, 'Endpoint URL'),
    url,
    urlError,
    h(
      'fieldset',
      {},
      h('legend', {}, 'Send these events'),
      ...boxes.map((box, i) => h('label', {}, box, ` ${TYPE_WORDS[PAYLOAD_TYPES[i]!]}`)),
    ),
    typesError,
    h('label', { class: 'inline' }, strict, 'One at a time, strictly in order'),
    h('button', { type: 'submit' }, 'Save'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value as PayloadType);
    const body = { url: url.value.trim(), types: chosen.length === PAYLOAD_TYPES.length ? null : chosen, strictOrder: strict.checked };
    api<EndpointView>('PATCH', `/api/endpoints/${endpoint.id}`, body)
      .then(() => {
        ui(endpoint.id).editing = false;
        return refreshState();
      })
      .catch((error: unknown) => showIssues(error, { url: [url, urlError], types: [null, typesError] }));
  });
  return form;
}

async function verify(endpoint: EndpointView): Promise<void> {
  await busy(endpoint, 'Verifying…', async () => {
    const report = await api<VerifyReport>('POST', `/api/endpoints/${endpoint.id}/verify`);
    return { ok: report.ok, text: `${report.ok ? 'Verified' : 'Not working'}:\n${report.findings.join('\n')}` };
  });
}

async function sendTestEvent(endpoint: EndpointView, type: PayloadType): Promise<void> {
  await busy(endpoint, `Sending a test ${type}…`, async () => {
    const result = await api<TestResult>('POST', `/api/endpoints/${endpoint.id}/test`, { type });
    return { ok: result.status === 'delivered', text: `Test ${type}: ${result.reason}` };
  });
}

/** "Send earlier events": every captured event this endpoint has not received yet (a CRM added mid-event). */
async function sendEarlierEvents(endpoint: EndpointView): Promise<void> {
  await busy(endpoint, 'Queueing earlier events…', async () => {
    const result = await api<ReplayResult>('POST', `/api/endpoints/${endpoint.id}/replay`, {});
    return { ok: true, text: replayWords(result) };
  });
}

function replayWords(result: ReplayResult): string {
  const { delivered, onItsWay, failed, notSubscribed } = result.skipped;
  const skipped = [
    delivered ? `${delivered} it already has` : '',
    onItsWay ? `${onItsWay} already on their way` : '',
    failed ? `${failed} failed (use Retry)` : '',
    notSubscribed ? `${notSubscribed} of types it does not receive` : '',
  ].filter(Boolean);
  const queued =
    result.queued === 0 ? 'No earlier event to send' : `${result.queued} earlier event${result.queued === 1 ? '' : 's'} queued`;
  const waiting = result.waiting && result.queued > 0 ? ': they wait until the endpoint can be reached' : '';
  return `${queued}${waiting}.${skipped.length > 0 ? ` Left out: ${skipped.join(', ')}.` : ''}`;
}

async function busy(endpoint: EndpointView, doing: string, work: () => Promise<{ ok: boolean; text: string }>): Promise<void> {
  const state = ui(endpoint.id);
  state.busy = true;
  state.result = { ok: true, text: doing };
  renderEndpoints();
  try {
    state.result = await work();
  } catch (error) {
    state.result = { ok: false, text: messageOf(error) };
  }
  state.busy = false;
  renderEndpoints();
}

async function change(endpoint: EndpointView, body: Record<string, unknown>): Promise<void> {
  await act(() => api('PATCH', `/api/endpoints/${endpoint.id}`, body));
}

async function remove(endpoint: EndpointView): Promise<void> {
  if (!(await confirmed(`Remove ${endpoint.url}? Its deliveries that are not done yet are dropped with it.`))) return;
  await act(() => api('DELETE', `/api/endpoints/${endpoint.id}`));
  endpointUi.delete(endpoint.id);
}

async function toggleSecret(endpoint: EndpointView): Promise<void> {
  const state = ui(endpoint.id);
  if (state.secret) delete state.secret;
  else state.secret = (await api<RevealedSecret>('GET', `/api/endpoints/${endpoint.id}/secret`)).secret;
  renderEndpoints();
}

async function copySecret(endpoint: EndpointView): Promise<void> {
  const { secret } = await api<RevealedSecret>('GET', `/api/endpoints/${endpoint.id}/secret`);
  await copy(secret);
  ui(endpoint.id).result = { ok: true, text: 'Secret copied.' };
  renderEndpoints();
}

async function rotate(endpoint: EndpointView): Promise<void> {
  const { secret } = await api<RotatedSecret>('POST', `/api/endpoints/${endpoint.id}/rotate-secret`);
  const state = ui(endpoint.id);
  state.secret = secret;
  state.result = {
    ok: true,
    text: 'New secret made. Put it in the receiver; both secrets sign webhook-signature for 24 hours. Then confirm, and X-Signature switches to the new one.',
  };
  await refreshState();
}

async function confirmRotation(endpoint: EndpointView): Promise<void> {
  await act(() => api('POST', `/api/endpoints/${endpoint.id}/confirm-rotation`));
  ui(endpoint.id).result = { ok: true, text: 'Rotation confirmed: X-Signature now uses the new secret.' };
  renderEndpoints();
}

function confirmed(question: string): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm');
  byId('confirm-text').textContent = question;
  dialog.showModal();
  return new Promise((resolve) => {
    const done = (answer: boolean) => {
      byId('confirm-yes').onclick = null;
      byId('confirm-no').onclick = null;
      dialog.close();
      resolve(answer);
    };
    byId('confirm-yes').onclick = () => done(true);
    byId('confirm-no').onclick = () => done(false);
    dialog.oncancel = () => done(false);
  });
}

// ---- forms --------------------------------------------------------------------------

function setupForms(): void {
  const addForm = byId<HTMLFormElement>('add-endpoint');
  addForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const url = byId<HTMLInputElement>('new-url');
    const chosen = [...addForm.querySelectorAll<HTMLInputElement>('input[name="types"]:checked')].map((b) => b.value as PayloadType);
    const strictOrder = addForm.querySelector<HTMLInputElement>('input[name="strictOrder"]')!.checked;
    const fields = { url: [url, byId('new-url-error')], types: [null, byId('new-types-error')] } as const;
    clearIssues(fields);
    api<AddedEndpoint>('POST', '/api/endpoints', {
      url: url.value.trim(),
      types: chosen.length === PAYLOAD_TYPES.length ? null : chosen,
      strictOrder,
    })
      .then((added) => {
        url.value = '';
        ui(added.id).secret = added.secret;
        ui(added.id).result = { ok: true, text: 'Added. Copy its secret to the receiver, then Verify.' };
        return refreshState();
      })
      .catch((error: unknown) => showIssues(error, fields));
  });

  byId<HTMLFormElement>('booth-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = (id: string) => byId<HTMLInputElement>(id);
    const fields = {
      eventId: [input('event-id'), byId('event-id-error')],
      mediaUrlTemplate: [input('media-url-template'), byId('media-url-template-error')],
      hotFolder: [input('hot-folder'), byId('hot-folder-error')],
      deviceName: [input('device-name'), byId('device-name-error')],
    } as const;
    clearIssues(fields);
    byId('booth-saved').textContent = '';
    const text = (id: string) => input(id).value.trim() || null;
    const eventId = text('event-id');
    api('PUT', '/api/settings', {
      eventId: eventId === null ? null : /^\d+$/.test(eventId) ? Number(eventId) : eventId,
      mediaUrlTemplate: text('media-url-template'),
      hotFolder: text('hot-folder'),
      hotFolderPolling: input('hot-folder-polling').checked,
      deviceName: text('device-name'),
    })
      .then(() => {
        byId('booth-saved').textContent = 'Saved.';
        return refreshState();
      })
      .catch((error: unknown) => showIssues(error, fields));
  });

  setUpErase();

  byId<HTMLFormElement>('export').addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new URLSearchParams({ format: byId<HTMLSelectElement>('export-format').value });
    const type = byId<HTMLSelectElement>('filter-type').value;
    if (type) query.set('type', type);
    const said = byId('export-result');
    said.textContent = 'Exporting…';
    download(`/api/export?${query}`)
      .then(({ file, name }) => {
        const href = URL.createObjectURL(file);
        h('a', { href, download: name }).click();
        // The browser reads the file after this task; let it go once it surely has.
        setTimeout(() => URL.revokeObjectURL(href), 10_000);
        said.textContent = `Saved ${name}${type ? ` (${TYPE_WORDS[type as PayloadType].toLowerCase()} only)` : ''}.`;
      })
      .catch((error: unknown) => (said.textContent = error instanceof Error ? error.message : String(error)));
  });

  byId('pause').addEventListener('click', () => void act(() => api('POST', current?.paused ? '/api/resume' : '/api/pause')));
  byId('retry-all').addEventListener('click', () => void act(() => api('POST', '/api/deliveries/retry-failed')));
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-copy]')) {
    button.addEventListener('click', () => void copy(byId(button.dataset.copy!).textContent ?? ''));
  }
}

type Fields = Record<string, readonly [HTMLInputElement | null, HTMLElement]>;

function clearIssues(fields: Fields): void {
  for (const [input, message] of Object.values(fields)) {
    input?.removeAttribute('aria-invalid');
    message.textContent = '';
  }
}

/** Puts each refusal next to its field (the API names the field in each issue's path). */
function showIssues(error: unknown, fields: Fields): void {
  const issues: Issue[] =
    error instanceof ApiError && error.issues.length > 0 ? error.issues : [{ path: Object.keys(fields)[0]!, message: messageOf(error) }];
  for (const issue of issues) {
    const target = fields[issue.path.split('.')[0]!] ?? Object.values(fields)[0]!;
    const [input, message] = target;
    input?.setAttribute('aria-invalid', 'true');
    message.textContent = issue.message.charAt(0).toUpperCase() + issue.message.slice(1);
  }
}

async function act(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    alert(messageOf(error));
  }
  await refreshState();
}

async function copy(text: string): Promise<void> {
  await navigator.clipboard.writeText(text);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---- deliveries ---------------------------------------------------------------------

const pages: (number | null)[] = [null];
let nextCursor: number | null = null;
let openDelivery: string | null = null;

// ---- a guest's data --------------------------------------------------------------

/** Find (a dry run that changes nothing), then Erase exactly what was found. */
function setUpErase(): void {
  const kind = byId<HTMLSelectElement>('erase-kind');
  const value = byId<HTMLInputElement>('erase-value');
  const eraseButton = byId<HTMLButtonElement>('erase');
  const request = (dryRun: boolean) => ({ [kind.value]: value.value.trim(), dryRun });
  // A refusal names the identifier's field, or none ("give exactly one of…"): either way, next to the input.
  const fields = (): Fields => ({ [kind.value]: [value, byId('erase-error')], '': [value, byId('erase-error')] });
  const forget = () => {
    eraseButton.disabled = true;
    byId('erase-result').replaceChildren();
  };
  kind.addEventListener('change', forget);
  value.addEventListener('input', forget);

  byId<HTMLFormElement>('erase-form').addEventListener('submit', (event) => {
    event.preventDefault();
    clearIssues(fields());
    forget();
    api<EraseResult>('POST', '/api/erase', request(true))
      .then((found) => {
        byId('erase-result').replaceChildren(...erasureWords(found));
        eraseButton.disabled = total(found) === 0;
      })
      .catch((error: unknown) => showIssues(error, fields()));
  });

  eraseButton.addEventListener('click', () => {
    void (async () => {
      if (!(await confirmed(`Erase what this booth holds about ${value.value.trim()}? This cannot be undone.`))) return;
      try {
        const erased = await api<EraseResult>('POST', '/api/erase', request(false));
        eraseButton.disabled = true;
        byId('erase-result').replaceChildren(...erasureWords(erased));
      } catch (error) {
        showIssues(error, fields());
      }
      await refreshState();
    })();
  });
}

function total(result: EraseResult): number {
  return Object.values(result.counts.events).reduce((sum, n) => sum + n, 0);
}

/** What a Find found, or what an Erase took away, and where the data already went. */
function erasureWords(result: EraseResult): HTMLElement[] {
  const events = total(result);
  const byType = PAYLOAD_TYPES.filter((t) => result.counts.events[t] > 0)
    .map((t) => `${TYPE_WORDS[t]}: ${result.counts.events[t]}`)
    .join(', ');
  const { undeliveredDropped, responseSnippets, hotFolderRecords, dslrSessions } = result.counts;
  const lines = [
    events === 0
      ? 'Nothing on this booth names this guest.'
      : `${result.dryRun ? 'Found' : 'Erased'}: ${events} event${events === 1 ? '' : 's'} (${byType}).`,
    undeliveredDropped ? `${undeliveredDropped} deliveries not made yet ${result.dryRun ? 'would be' : 'were'} dropped: never sent.` : '',
    responseSnippets
      ? `${responseSnippets} stored answer${responseSnippets === 1 ? '' : 's'} from receivers${result.dryRun ? '' : ', cleared'}.`
      : '',
    hotFolderRecords ? `${hotFolderRecords} hot folder record${hotFolderRecords === 1 ? '' : 's'}.` : '',
    dslrSessions ? `${dslrSessions} dslrBooth session record${dslrSessions === 1 ? '' : 's'}.` : '',
  ].filter(Boolean);
  const sent = result.alreadySent.map((s) =>
    h('li', {}, `${s.url}: ${s.delivered} delivered${s.attempted ? `, ${s.attempted} sent without an answer` : ''}`),
  );
  return [
    ...lines.map((line) => h('p', {}, line)),
    ...(sent.length > 0
      ? [
          h('p', {}, 'Already sent, which an erase cannot take back: ask these receivers to delete it.'),
          h('ul', { class: 'already-sent' }, ...sent),
        ]
      : []),
    ...(result.dryRun
      ? []
      : [h('p', { class: 'hint' }, 'Kept for the record: an audit entry with a hash of the identifier, no personal data.')]),
  ];
}

function filterQuery(): URLSearchParams {
  const form = byId<HTMLFormElement>('filters');
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(form)) if (typeof value === 'string' && value.trim()) query.set(name, value.trim());
  const before = pages[pages.length - 1];
  if (before !== null && before !== undefined) query.set('before', String(before));
  return query;
}

let listRequest = 0;

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
          { title: d.lastError ?? '' },
          d.status === 'delivered' ? `delivered ${d.deliveredAt ? relative(d.deliveredAt, now) : ''}` : (d.lastError ?? ''),
        ),
      ),
    ),
  );
  byId('deliveries-empty').hidden = items.length > 0;
  byId<HTMLButtonElement>('older').disabled = next === null;
  byId<HTMLButtonElement>('newest').disabled = pages.length === 1;
}

async function openDetail(id: string): Promise<void> {
  openDelivery = id;
  await renderDetail();
  const dialog = byId<HTMLDialogElement>('detail');
  if (!dialog.open) dialog.showModal();
}

let detailRequest = 0;

async function renderDetail(): Promise<void> {
  if (!openDelivery) return;
  const request = ++detailRequest;
  const d = await api<DeliveryDetail>('GET', `/api/deliveries/${openDelivery}`);
  if (request !== detailRequest) return;
  byId('detail-title').textContent = `${d.type}${d.test ? ' (test)' : ''} to ${d.endpointUrl}`;
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
      h('dl', {}, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
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
      d.requestHeaders
        ? h('dl', {}, ...Object.entries(d.requestHeaders).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))
        : h('p', {}, 'Not sent yet.'),
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

function setupDeliveries(): void {
  byId<HTMLFormElement>('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    pages.splice(1);
    void loadDeliveries();
  });
  for (const id of ['filter-status', 'filter-type']) {
    byId(id).addEventListener('change', () => {
      pages.splice(1);
      void loadDeliveries();
    });
  }
  byId('older').addEventListener('click', () => {
    if (nextCursor === null) return;
    pages.push(nextCursor);
    void loadDeliveries();
  });
  byId('newest').addEventListener('click', () => {
    pages.splice(1);
    void loadDeliveries();
  });
  byId('detail-close').addEventListener('click', () => byId<HTMLDialogElement>('detail').close());
  byId<HTMLDialogElement>('detail').addEventListener('close', () => {
    openDelivery = null;
  });
}

// ---- live updates -------------------------------------------------------------------

let lastChart = 0;

async function loadChart(): Promise<void> {
  lastChart = Date.now();
  const { hours } = await api<DayStats>('GET', '/api/stats/day');
  drawChart(byId('chart'), hours);
}

function applyState(state: PanelState): void {
  current = state;
  renderHeader(state);
  renderEndpoints();
  // The booth form shows the saved settings, except while the operator is editing it.
  if (!byId('booth-form').contains(document.activeElement)) {
    byId<HTMLInputElement>('event-id').value = state.settings.eventId === null ? '' : String(state.settings.eventId);
    byId<HTMLInputElement>('media-url-template').value = state.settings.mediaUrlTemplate ?? '';
    byId<HTMLInputElement>('hot-folder').value = state.settings.hotFolder ?? '';
    byId<HTMLInputElement>('hot-folder-polling').checked = state.settings.hotFolderPolling;
    byId<HTMLInputElement>('device-name').value = state.settings.deviceName ?? '';
  }
  byId('dslrbooth-url').textContent = state.ingest.dslrBoothUrl;
  byId('ingest-url').textContent = state.ingest.url;
  byId('ingest-path-url').textContent = state.ingest.pathUrl;
  byId('ingest-token').textContent = state.ingest.token;
  if (pages.length === 1) void loadDeliveries();
  if (openDelivery) void renderDetail();
  if (Date.now() - lastChart > 10_000) void loadChart();
}

async function refreshState(): Promise<void> {
  applyState(await api<PanelState>('GET', '/api/state'));
}

function start(): void {
  if (!adminToken()) {
    byId('headline').textContent = 'Open the panel with its link: run "booth-agent panel-url" on the booth';
    return;
  }
  setupForms();
  setupDeliveries();
  follow<PanelState>(applyState, (connected) => {
    if (!connected) {
      const title = byId('headline');
      title.textContent = 'The agent is not answering: is it running?';
      title.dataset.tone = 'bad';
    }
  });
  void loadChart();
}

start();
