// Endpoints: a card for each, with Verify, Send test, enable/disable, edit, Send earlier
// events, remove and its secret; and the form that adds one.
import { api, messageOf } from '../api.js';
import { confirmed } from '../confirm.js';
import { byId, h } from '../dom.js';
import { optionControls } from '../endpoint-options.js';
import { clearIssues, showIssues } from '../fields.js';
import { ALL_ALERTS, chosenTypes, clock, endpointFacts, localTime, PAYLOAD_TYPES, subscriptionWords, TYPE_WORDS } from '../format.js';
import { act, refreshState, type Card } from '../page.js';
import type {
  AddedEndpoint,
  EndpointView,
  PayloadType,
  ReplayResult,
  RevealedSecret,
  RotatedSecret,
  TestResult,
  TypeFilter,
  VerifyReport,
} from '../types.js';

/** The endpoints of the last state, or null before the first. */
let shown: EndpointView[] | null = null;
/** What the page shows of each endpoint besides the agent's state: a result, its secret, its edit form. */
interface EndpointUi {
  result?: { ok: boolean; text: string };
  secret?: string;
  editing?: boolean;
  busy?: boolean;
}
const endpointUi = new Map<string, EndpointUi>();
/**
 * The open edit forms, kept across live updates: the list is drawn anew whenever an
 * endpoint changes (its clock skew after a delivery, say), and the operator's draft, with
 * the header rows added to it, must not vanish under their hands.
 */
const drafts = new Map<string, HTMLFormElement>();
let renderedEndpoints = '';

export const endpoints: Card = {
  setUp: setUpAddForm,
  show(state) {
    shown = state.endpoints;
    renderEndpoints();
  },
};

function setUpAddForm(): void {
  const addForm = byId<HTMLFormElement>('add-endpoint');
  const options = optionControls((what) => `new-${what}`, null);
  byId('new-options').replaceChildren(...options.elements);
  addForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const url = byId<HTMLInputElement>('new-url');
    const chosen = [...addForm.querySelectorAll<HTMLInputElement>('input[name="types"]:checked')].map((b) => b.value as TypeFilter);
    const strictOrder = addForm.querySelector<HTMLInputElement>('input[name="strictOrder"]')!.checked;
    const fields = { url: [url, byId('new-url-error')], types: [null, byId('new-types-error')], ...options.fields() } as const;
    clearIssues(fields);
    api<AddedEndpoint>('POST', '/api/endpoints', { url: url.value.trim(), types: chosenTypes(chosen), strictOrder, ...options.body() })
      .then((added) => {
        url.value = '';
        options.clearHeaders();
        ui(added.id).secret = added.secret;
        ui(added.id).result = { ok: true, text: 'Added. Copy its secret to the receiver, then Verify.' };
        return refreshState();
      })
      .catch((error: unknown) => showIssues(error, fields));
  });
}

function ui(id: string): EndpointUi {
  let entry = endpointUi.get(id);
  if (!entry) endpointUi.set(id, (entry = {}));
  return entry;
}

function renderEndpoints(force = false): void {
  if (!shown) return;
  const key = JSON.stringify([shown, [...endpointUi]]);
  if (!force && key === renderedEndpoints) return;
  renderedEndpoints = key;
  const list = byId('endpoints');
  const focused = document.activeElement?.id;
  list.replaceChildren(
    ...(shown.length === 0
      ? [h('li', { class: 'empty' }, 'No endpoint yet: add the URL of your CRM, Zapier, Make or n8n webhook below.')]
      : shown.map(endpointCard)),
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
  const facts = [subscriptionWords(endpoint.types), ...endpointFacts(endpoint)].join(' · ');
  const testType = h(
    'select',
    { id: id('test-type'), 'aria-label': `Test event type for ${endpoint.url}` },
    ...PAYLOAD_TYPES.map((t) => h('option', { value: t }, t)),
  );

  return h(
    'li',
    { class: 'endpoint', 'data-endpoint': endpoint.id },
    h('div', { class: 'url' }, endpoint.url),
    h('div', { class: 'meta' }, facts, ' · ', status),
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
            drafts.delete(endpoint.id);
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
    state.editing ? draft(endpoint, id) : null,
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

function draft(endpoint: EndpointView, id: (what: string) => string): HTMLFormElement {
  let form = drafts.get(endpoint.id);
  if (!form) drafts.set(endpoint.id, (form = editForm(endpoint, id)));
  return form;
}

function editForm(endpoint: EndpointView, id: (what: string) => string): HTMLFormElement {
  const url = h('input', { id: id('edit-url'), type: 'url', value: endpoint.url, 'aria-describedby': id('edit-url-error') });
  // Alerts named one by one (from the command line) keep a box of their own, so saving here keeps them.
  const named = (endpoint.types ?? []).filter((t) => t.startsWith('agent.') && t !== ALL_ALERTS);
  const offered: [TypeFilter, string][] = [
    ...PAYLOAD_TYPES.map((t): [TypeFilter, string] => [t, TYPE_WORDS[t]]),
    [ALL_ALERTS, 'Alerts (agent.*)'],
    ...named.map((t): [TypeFilter, string] => [t, `Alert ${t}`]),
  ];
  const boxes = offered.map(([t]) =>
    h('input', {
      type: 'checkbox',
      value: t,
      checked: endpoint.types === null ? (PAYLOAD_TYPES as string[]).includes(t) : endpoint.types.includes(t),
    }),
  );
  const strict = h('input', { type: 'checkbox', checked: endpoint.strictOrder });
  const options = optionControls(id, endpoint);
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
      { class: 'types' },
      h('legend', {}, 'Send these events'),
      ...boxes.map((box, i) => h('label', {}, box, ` ${offered[i]![1]}`)),
    ),
    typesError,
    h('label', { class: 'inline' }, strict, 'One at a time, strictly in order'),
    ...options.elements,
    h('button', { type: 'submit' }, 'Save'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const fields = { url: [url, urlError], types: [null, typesError], ...options.fields() } as const;
    clearIssues(fields);
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value as TypeFilter);
    const body = { url: url.value.trim(), types: chosenTypes(chosen), strictOrder: strict.checked, ...options.body() };
    api<EndpointView>('PATCH', `/api/endpoints/${endpoint.id}`, body)
      .then(() => {
        ui(endpoint.id).editing = false;
        drafts.delete(endpoint.id);
        return refreshState();
      })
      .catch((error: unknown) => showIssues(error, fields));
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
  drafts.delete(endpoint.id);
}

async function toggleSecret(endpoint: EndpointView): Promise<void> {
  await withSecret(endpoint, async (state) => {
    if (state.secret) delete state.secret;
    else state.secret = (await api<RevealedSecret>('GET', `/api/endpoints/${endpoint.id}/secret`)).secret;
  });
}

async function copySecret(endpoint: EndpointView): Promise<void> {
  await withSecret(endpoint, async (state) => {
    const { secret } = await api<RevealedSecret>('GET', `/api/endpoints/${endpoint.id}/secret`);
    await navigator.clipboard.writeText(secret);
    state.result = { ok: true, text: 'Secret copied.' };
  });
}

async function rotate(endpoint: EndpointView): Promise<void> {
  await withSecret(endpoint, async (state) => {
    state.secret = (await api<RotatedSecret>('POST', `/api/endpoints/${endpoint.id}/rotate-secret`)).secret;
    state.result = {
      ok: true,
      text: 'New secret made. Put it in the receiver; both secrets sign webhook-signature for 24 hours. Then confirm, and X-Signature switches to the new one.',
    };
  });
}

/**
 * Reveal, Copy and Rotate: what went wrong (the endpoint removed a moment ago, the agent
 * stopped, the clipboard refused) is said on the card, then the card shows the agent's state.
 */
async function withSecret(endpoint: EndpointView, work: (state: EndpointUi) => Promise<void>): Promise<void> {
  const state = ui(endpoint.id);
  try {
    await work(state);
  } catch (error) {
    state.result = { ok: false, text: messageOf(error) };
  }
  await refreshState().catch(() => renderEndpoints());
}

async function confirmRotation(endpoint: EndpointView): Promise<void> {
  await act(() => api('POST', `/api/endpoints/${endpoint.id}/confirm-rotation`));
  ui(endpoint.id).result = { ok: true, text: 'Rotation confirmed: X-Signature now uses the new secret.' };
  renderEndpoints();
}
