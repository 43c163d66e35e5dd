// This booth: its settings (event id, media URL template, hot folder, name, automatic
// retries and alerts), and the capture URLs and ingest token, ready to copy.
import { api, ApiError } from '../api.js';
import { byId } from '../dom.js';
import { clearIssues, showIssues } from '../fields.js';
import { refreshState, type Card } from '../page.js';
import type { WireSettings } from '../types.js';

const MINUTE_MS = 60_000;

export const booth: Card = {
  setUp() {
    setUpBoothForm();
    for (const button of document.querySelectorAll<HTMLButtonElement>('[data-copy]')) {
      button.addEventListener('click', () => void navigator.clipboard.writeText(byId(button.dataset.copy!).textContent ?? ''));
    }
  },
  show(state) {
    // The booth form shows the saved settings, except while the operator is editing it.
    if (!byId('booth-form').contains(document.activeElement)) fillBoothForm(state.settings);
    byId('dslrbooth-url').textContent = state.ingest.dslrBoothUrl;
    byId('ingest-url').textContent = state.ingest.url;
    byId('ingest-path-url').textContent = state.ingest.pathUrl;
    byId('ingest-token').textContent = state.ingest.token;
  },
};

function setUpBoothForm(): void {
  byId<HTMLFormElement>('booth-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = (id: string) => byId<HTMLInputElement>(id);
    const fields = {
      eventId: [input('event-id'), byId('event-id-error')],
      mediaUrlTemplate: [input('media-url-template'), byId('media-url-template-error')],
      hotFolder: [input('hot-folder'), byId('hot-folder-error')],
      deviceName: [input('device-name'), byId('device-name-error')],
      recoverSchedule: [input('recover-schedule'), byId('recover-schedule-error')],
      alertWaitingAfterMs: [input('alert-waiting-after'), byId('alert-waiting-after-error')],
      heartbeatIntervalMs: [input('heartbeat-interval'), byId('heartbeat-interval-error')],
    } as const;
    clearIssues(fields);
    byId('booth-saved').textContent = '';
    const text = (id: string) => input(id).value.trim() || null;
    const eventId = text('event-id');
    const minutes = { alertWaitingAfterMs: text('alert-waiting-after'), heartbeatIntervalMs: text('heartbeat-interval') };
    // Minutes are the page's own unit, so the page says when one is not a number.
    const notMinutes = Object.entries(minutes)
      .filter(([, value]) => value !== null && !/^\d+(\.\d+)?$/.test(value))
      .map(([path]) => ({ path, message: 'must be a number of minutes' }));
    if (notMinutes.length > 0) {
      showIssues(new ApiError(400, 'not a number of minutes', notMinutes), fields);
      return;
    }
    api<WireSettings>('PUT', '/api/settings', {
      eventId: eventId === null ? null : /^\d+$/.test(eventId) ? Number(eventId) : eventId,
      mediaUrlTemplate: text('media-url-template'),
      hotFolder: text('hot-folder'),
      hotFolderPolling: input('hot-folder-polling').checked,
      deviceName: text('device-name'),
      recoverSchedule: input('recover-schedule').value.trim(),
      // Minutes on the page, milliseconds on the wire; a field left empty keeps its setting.
      ...Object.fromEntries(
        Object.entries(minutes)
          .filter(([, value]) => value !== null)
          .map(([key, value]) => [key, Math.round(Number(value) * MINUTE_MS)]),
      ),
    })
      .then((saved) => {
        byId('booth-saved').textContent = 'Saved.';
        fillBoothForm(saved);
        return refreshState();
      })
      .catch((error: unknown) => showIssues(error, fields));
  });
}

function fillBoothForm(settings: WireSettings): void {
  byId<HTMLInputElement>('event-id').value = settings.eventId === null ? '' : String(settings.eventId);
  byId<HTMLInputElement>('media-url-template').value = settings.mediaUrlTemplate ?? '';
  byId<HTMLInputElement>('hot-folder').value = settings.hotFolder ?? '';
  byId<HTMLInputElement>('hot-folder-polling').checked = settings.hotFolderPolling;
  byId<HTMLInputElement>('device-name').value = settings.deviceName ?? '';
  byId<HTMLInputElement>('recover-schedule').value = settings.recoverSchedule;
  byId<HTMLInputElement>('alert-waiting-after').value = String(settings.alertWaitingAfterMs / MINUTE_MS);
  byId<HTMLInputElement>('heartbeat-interval').value = String(settings.heartbeatIntervalMs / MINUTE_MS);
}
