// A guest's data: find what the booth holds about a guest (a dry run), then erase exactly
// that after asking, and name the receivers that already have it.
import { api } from '../api.js';
import { confirmed } from '../confirm.js';
import { byId, h } from '../dom.js';
import { clearIssues, showIssues, type Fields } from '../fields.js';
import { PAYLOAD_TYPES, TYPE_WORDS } from '../format.js';
import { refreshState, type Card } from '../page.js';
import type { EraseResult } from '../types.js';

export const guest: Card = { setUp: setUpErase };

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
    result.media.length
      ? `${result.media.length} photo${result.media.length === 1 ? '' : 's'} of the sessions${result.dryRun ? ', to be' : ','} removed from the booth and deleted from the storage.`
      : '',
    result.storage?.owed
      ? `The uploaded photo${result.storage.owed === 1 ? '' : 's'} will be deleted from the storage when it can be reached.`
      : '',
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
