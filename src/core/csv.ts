// CSV as RFC 4180 writes it (CRLF line ends; a field with a quote, comma, CR or LF quoted,
// its quotes doubled), made safe to open in a spreadsheet: a cell that begins with a
// character a spreadsheet reads as the start of a formula gets a leading apostrophe, so a
// guest who typed =HYPERLINK(…) into a form sees text, not a link (CSV injection).

/** The characters that make Excel, LibreOffice and Google Sheets read a cell as a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** The cell's text as a spreadsheet should show it: a formula-like start is defused with a `'`. */
export function neutralise(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** One field, neutralised and quoted when RFC 4180 requires it; null is an empty field. */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = neutralise(String(value));
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, with its CRLF. */
export function csvRecord(values: readonly (string | number | null)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
