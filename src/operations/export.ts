// The organiser's data: the captured events as CSV (one row per event, a column per form
// field, four per endpoint) or JSON lines (each body as sent, with its deliveries). The
// CLI pipes the stream to a file or standard output, the admin API to a download; both
// only parse their arguments and pipe.
import { Readable } from 'node:stream';
import { z } from 'zod';
import { csvRecord } from '../core/csv.js';
import { CsvLayout, EXPORT_FORMATS, FieldColumns, jsonlLine, type ExportFormat } from '../core/export-format.js';
import { ExportReader, type EventSelection } from '../store/event-selection.js';
import { parseInput, type OperationContext } from './context.js';
import { checkRange, selectionFields, toSelection } from './event-selection.js';

const exportSchema = z.strictObject({ format: z.enum(EXPORT_FORMATS).default('csv'), ...selectionFields }).superRefine(checkRange);

export type ExportInput = z.input<typeof exportSchema>;

export interface ExportDownload {
  /** `booth-agent-export-<UTC time>.csv` (or `.jsonl`). */
  filename: string;
  contentType: string;
  /** The file, produced as it is read: never whole in memory. */
  stream: Readable;
  /** The events written so far (every one once the stream has ended). */
  rows(): number;
}

const CONTENT_TYPES: Record<ExportFormat, string> = { csv: 'text/csv; charset=utf-8', jsonl: 'application/x-ndjson; charset=utf-8' };
/** Spreadsheets read a CSV as UTF-8 (not the system's code page) when it starts with a BOM. */
const BOM = '\uFEFF';
/** Rows are written in chunks of about this many characters. */
const CHUNK = 64 * 1024;
/** The first pass gives the event loop a turn this often, so captures never wait long on an export. */
const TURN_EVERY = 500;

/**
 * The captured events (no Send Test events), in capture order, as a stream. The input is
 * checked here, before anything is written; the events are read while the stream is
 * consumed, on a connection of their own, as one snapshot. One log line when it ends.
 */
export function exportEvents(ctx: OperationContext, input: unknown): ExportDownload {
  const { format, ...chosen } = parseInput(exportSchema, input);
  const selection = toSelection(chosen);
  const stamp = new Date(ctx.now())
    .toISOString()
    .replace(/:/g, '')
    .replace(/\.\d+Z$/, 'Z');
  let rows = 0;

  async function* chunks(): AsyncGenerator<string> {
    const reader = new ExportReader(ctx.store.openReader());
    let complete = false;
    try {
      const lines = format === 'csv' ? await csvLines(reader, selection) : jsonLines(reader, selection);
      let pending = format === 'csv' ? BOM : '';
      for (const line of lines) {
        if (line.row) rows++;
        pending += line.text;
        if (pending.length >= CHUNK) {
          yield pending;
          pending = '';
        }
      }
      if (pending) yield pending;
      complete = true;
    } finally {
      reader.close();
      ctx.log.info({ format, selection, rows, complete, by: 'operator' }, 'events exported');
    }
  }

  return {
    filename: `booth-agent-export-${stamp}.${format}`,
    contentType: CONTENT_TYPES[format],
    stream: Readable.from(chunks(), { objectMode: false }),
    rows: () => rows,
  };
}

interface Line {
  text: string;
  /** An event's row (not the header). */
  row: boolean;
}

/** The header first: its form-field columns come from a first pass over the selected events' forms. */
async function csvLines(reader: ExportReader, selection: EventSelection): Promise<Iterable<Line>> {
  const fields = new FieldColumns();
  let read = 0;
  for (const field of reader.formFields(selection)) {
    fields.add(field.id, field.title);
    if (++read % TURN_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const layout = new CsvLayout(fields.columns(), reader.endpoints());
  return (function* () {
    yield { text: csvRecord(layout.header()), row: false };
    for (const event of reader.events(selection)) yield { text: csvRecord(layout.row(event)), row: true };
  })();
}

function* jsonLines(reader: ExportReader, selection: EventSelection): Iterable<Line> {
  const urls = new Map(reader.endpoints().map((e) => [e.id, e.url]));
  for (const event of reader.events(selection)) yield { text: jsonlLine(event, urls), row: true };
}
