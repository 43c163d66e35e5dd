// An endpoint's options besides its URL and types: the body's format, automatic retries,
// a rate, and extra headers. One set of controls serves the add form and each endpoint's
// edit form. A header's value goes to the agent and is never shown again: the agent
// answers with header names only, so an edit can replace a value or remove a header, not
// read it.
import { h } from './dom.js';
import type { Fields } from './fields.js';
import type { EndpointView } from './types.js';

export interface OptionControls {
  elements: HTMLElement[];
  /** These options as the admin API takes them (an edit sends only the header changes). */
  body(): Record<string, unknown>;
  fields(): Fields;
  /** Forgets the headers typed in, once they were sent. */
  clearHeaders(): void;
}

/** Stands in for a header's value, which the panel never has. */
const MASKED = '••••••';

interface HeaderRow {
  row: HTMLElement;
  name: () => string;
  nameControl: HTMLInputElement | null;
  value: HTMLInputElement;
  removed: () => boolean;
}

export function optionControls(id: (what: string) => string, endpoint: EndpointView | null): OptionControls {
  const errorOf = (what: string) => h('p', { id: id(`${what}-error`), class: 'field-error', role: 'alert' });
  const errors = {
    format: errorOf('format'),
    autoRecover: errorOf('auto-recover'),
    rate: errorOf('max-per-minute'),
    headers: errorOf('headers'),
  };

  const format = h(
    'select',
    { id: id('format'), 'aria-describedby': id('format-error') },
    option('snappic', 'Snappic (as the contract)', endpoint?.format),
    option('flat', 'Flat (spreadsheets, no-code)', endpoint?.format),
    option('chat', 'Chat message (Slack, Google Chat)', endpoint?.format),
  );
  const autoRecover = h(
    'select',
    { id: id('auto-recover'), 'aria-describedby': id('auto-recover-error') },
    option('on', 'On', endpoint?.autoRecover),
    option('off', 'Off', endpoint?.autoRecover),
    option('all', 'On, also after a 4xx refusal', endpoint?.autoRecover),
  );
  const rate = h('input', {
    id: id('max-per-minute'),
    inputmode: 'numeric',
    autocomplete: 'off',
    value: endpoint?.maxPerMinute ?? '',
    'aria-describedby': `${id('max-per-minute-hint')} ${id('max-per-minute-error')}`,
  });

  const rows: HeaderRow[] = [];
  const list = h('div', { class: 'headers' });
  const addRow = (row: HeaderRow) => {
    rows.push(row);
    list.append(row.row);
  };
  for (const name of endpoint?.headerNames ?? []) addRow(savedHeader(name));
  const add = h(
    'button',
    {
      type: 'button',
      id: id('add-header'),
      onclick: () => {
        const row = newHeader(rows);
        addRow(row);
        row.nameControl!.focus();
      },
    },
    'Add header',
  );

  return {
    elements: [
      h('label', { for: id('format') }, 'Format'),
      format,
      errors.format,
      h('label', { for: id('auto-recover') }, 'Automatic retries'),
      autoRecover,
      errors.autoRecover,
      h('label', { for: id('max-per-minute') }, 'At most this many per minute'),
      rate,
      h('p', { id: id('max-per-minute-hint'), class: 'hint' }, 'Empty: no limit.'),
      errors.rate,
      h(
        'fieldset',
        { class: 'header-list', 'aria-describedby': id('headers-error') },
        h('legend', {}, 'Extra headers (an API key the receiver asks for)'),
        list,
        add,
      ),
      errors.headers,
    ],
    body() {
      const text = rate.value.trim();
      const headers: Record<string, string> = {};
      for (const row of rows) {
        const value = row.value.value.trim();
        // A saved header left blank keeps its value; a new row left blank is no header.
        const blank = value === '' && (row.nameControl === null || row.name() === '');
        if (!row.removed() && !blank) headers[row.name()] = value;
      }
      const removeHeaders = rows.filter((row) => row.removed()).map((row) => row.name());
      return {
        format: format.value,
        autoRecover: autoRecover.value,
        // A number when it is one; anything else as typed, for the agent to refuse in words.
        maxPerMinute: text === '' ? null : /^\d+$/.test(text) ? Number(text) : text,
        ...(Object.keys(headers).length > 0 ? { headers } : {}),
        ...(removeHeaders.length > 0 ? { removeHeaders } : {}),
      };
    },
    fields() {
      const fields: Fields = {
        format: [format, errors.format],
        autoRecover: [autoRecover, errors.autoRecover],
        maxPerMinute: [rate, errors.rate],
        headers: [null, errors.headers],
        removeHeaders: [null, errors.headers],
      };
      // A refusal of one header names it in its path (headers.X-Signature): mark that row's name.
      for (const row of rows) fields[`headers.${row.name()}`] = [row.nameControl ?? row.value, errors.headers];
      return fields;
    },
    clearHeaders() {
      for (const row of rows.splice(0)) row.row.remove();
    },
  };
}

function option(value: string, words: string, current: string | undefined): HTMLOptionElement {
  return h('option', { value, selected: value === current }, words);
}

/** A header the endpoint has: its name, a mask for its value, a place for a new value, and Remove. */
function savedHeader(name: string): HeaderRow {
  let removed = false;
  const value = h('input', { autocomplete: 'off', spellcheck: 'false', placeholder: 'new value', 'aria-label': `New value for ${name}` });
  const said = h('span', { class: 'hint', role: 'status' });
  const toggle = h(
    'button',
    {
      type: 'button',
      'aria-label': `Remove header ${name}`,
      onclick: () => {
        removed = !removed;
        value.disabled = removed;
        row.row.dataset.removed = String(removed);
        toggle.textContent = removed ? 'Keep' : 'Remove';
        toggle.setAttribute('aria-label', `${removed ? 'Keep' : 'Remove'} header ${name}`);
        said.textContent = removed ? 'removed when you save' : '';
      },
    },
    'Remove',
  );
  const row: HeaderRow = {
    row: h('div', { class: 'header-row' }, h('code', {}, name), h('span', {}, MASKED), value, toggle, said),
    name: () => name,
    nameControl: null,
    value,
    removed: () => removed,
  };
  return row;
}

/** A header to add: name and value typed in, and Remove to drop the row before saving. */
function newHeader(rows: HeaderRow[]): HeaderRow {
  const name = h('input', { autocomplete: 'off', spellcheck: 'false', placeholder: 'X-Api-Key', 'aria-label': 'Header name' });
  const value = h('input', { autocomplete: 'off', spellcheck: 'false', 'aria-label': 'Header value' });
  const row: HeaderRow = {
    row: h(
      'div',
      { class: 'header-row' },
      name,
      value,
      h(
        'button',
        {
          type: 'button',
          'aria-label': 'Remove this header',
          onclick: () => {
            rows.splice(rows.indexOf(row), 1);
            row.row.remove();
          },
        },
        'Remove',
      ),
    ),
    name: () => name.value.trim(),
    nameControl: name,
    value,
    removed: () => false,
  };
  return row;
}
