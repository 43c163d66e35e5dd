// The organiser's storage for session photos: the form (its secret a password field that is
// never filled back), Verify with each step's result, and Remove after a confirmation.
import { api, ApiError, messageOf } from '../api.js';
import { confirmed } from '../confirm.js';
import { byId, h } from '../dom.js';
import { clearIssues, showIssues, type Fields } from '../fields.js';
import { refreshState, type Card } from '../page.js';
import type { StorageRequest, StorageVerifyReport, StorageView } from '../types.js';

const input = (id: string) => byId<HTMLInputElement>(id);

export const storage: Card = {
  setUp() {
    byId<HTMLFormElement>('storage-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void save();
    });
    byId('storage-verify').addEventListener('click', () => void verify());
    byId('storage-remove').addEventListener('click', () => void remove());
  },
  show(state) {
    byId('storage-summary').textContent = summary(state.storage);
    byId<HTMLButtonElement>('storage-verify').disabled = state.storage === null;
    byId<HTMLButtonElement>('storage-remove').disabled = state.storage === null;
    // The form shows the saved storage, except while the operator is editing it.
    if (!byId('storage-form').contains(document.activeElement)) fill(state.storage);
  },
};

function fields(): Fields {
  const field = (name: string) => [input(`storage-${name}`), byId(`storage-${name}-error`)] as const;
  return {
    url: field('url'),
    bucket: field('bucket'),
    region: field('region'),
    prefix: field('prefix'),
    accessKeyId: field('key-id'),
    secretAccessKey: field('secret'),
    publicUrl: field('public-url'),
    pathStyle: [input('storage-path-style'), byId('storage-url-error')],
  };
}

function summary(view: StorageView | null): string {
  if (view === null) return 'No storage set: photos stay on this computer.';
  const links = view.links === 'public' ? `public links under ${view.publicUrl}` : 'presigned links that stop working after 7 days';
  const locked = view.secretLocked ? ' Its secret is sealed with a key this agent does not have.' : '';
  return `Uploading to ${view.bucket}${view.prefix ? `/${view.prefix}` : ''} at ${view.url}, with ${links}.${locked}`;
}

function fill(view: StorageView | null): void {
  input('storage-url').value = view?.url ?? '';
  input('storage-bucket').value = view?.bucket ?? '';
  input('storage-region').value = view?.region ?? '';
  input('storage-prefix').value = view?.prefix ?? '';
  input('storage-key-id').value = view?.accessKeyId ?? '';
  input('storage-public-url').value = view?.publicUrl ?? '';
  input('storage-path-style').checked = view?.pathStyle ?? false;
}

async function save(): Promise<void> {
  const form = fields();
  clearIssues(form);
  byId('storage-saved').textContent = '';
  const value = (id: string) => input(id).value.trim();
  const secret = input('storage-secret').value;
  const request: StorageRequest = {
    url: value('storage-url'),
    bucket: value('storage-bucket'),
    ...(value('storage-region') ? { region: value('storage-region') } : {}),
    prefix: value('storage-prefix'),
    accessKeyId: value('storage-key-id'),
    ...(secret ? { secretAccessKey: secret } : {}),
    publicUrl: value('storage-public-url') || null,
    pathStyle: input('storage-path-style').checked,
  };
  try {
    const saved = await api<StorageView>('PUT', '/api/storage', request);
    // The secret leaves the page with the request: it is never kept or shown.
    input('storage-secret').value = '';
    byId('storage-saved').textContent = 'Saved. Verify checks it end to end.';
    fill(saved);
    await refreshState();
  } catch (error) {
    showIssues(error, form);
  }
}

async function verify(): Promise<void> {
  const list = byId('storage-report');
  list.replaceChildren(h('li', {}, 'Verifying: uploading a test file, opening it as a guest would, deleting it…'));
  try {
    const report = await api<StorageVerifyReport>('POST', '/api/storage/verify');
    list.replaceChildren(
      ...report.steps.map((step) =>
        h(
          'li',
          { 'data-tone': step.ok ? 'good' : 'bad' },
          `${STEP_NAMES[step.step]}: ${step.ok ? 'ok' : 'failed'}. ${capitalize(step.message)}`,
        ),
      ),
      ...report.notes.map((note) => h('li', {}, note)),
    );
  } catch (error) {
    list.replaceChildren(h('li', { 'data-tone': 'bad' }, messageOf(error)));
  }
}

const STEP_NAMES: Record<StorageVerifyReport['steps'][number]['step'], string> = {
  upload: 'Upload',
  read: "A guest's phone opens the link",
  delete: 'Delete the test file',
};

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

async function remove(): Promise<void> {
  if (!(await confirmed('Remove the storage and its secret? Photos will no longer be uploaded.'))) return;
  try {
    await api('DELETE', '/api/storage').catch(async (error: unknown) => {
      // Photos still wait for it: the operator is told how many and may remove it anyway.
      if (!(error instanceof ApiError && error.status === 409 && (await confirmed(`${error.message}. Remove it anyway?`)))) throw error;
      return api('DELETE', '/api/storage?force=true');
    });
    byId('storage-report').replaceChildren();
    byId('storage-saved').textContent = 'Removed.';
  } catch (error) {
    byId('storage-saved').textContent = messageOf(error);
  }
  await refreshState();
}
