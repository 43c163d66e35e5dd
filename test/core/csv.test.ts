// CSV fields as RFC 4180 writes them, and defused for spreadsheets: a value a guest typed
// into a form must never run as a formula when the organiser opens the file.
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvField, csvRecord, neutralise } from '../../src/core/csv.js';

describe('neutralise', () => {
  it.each([
    ['=1+1', "'=1+1"],
    ['=HYPERLINK("http://evil","x")', `'=HYPERLINK("http://evil","x")`],
    ['+33 6 12 34 56 78', "'+33 6 12 34 56 78"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1:A2)', "'@SUM(A1:A2)"],
    ['\t=1+1', "'\t=1+1"],
    ['\r=1+1', "'\r=1+1"],
    ['=', "'="],
    ["'=already quoted", "'=already quoted"],
    ['a=1', 'a=1'],
    [' =1', ' =1'],
    ['\n=1', '\n=1'],
    ['guest@example.com', 'guest@example.com'],
    ['', ''],
    ['Zoë – 日本語 🎉', 'Zoë – 日本語 🎉'],
  ])('%j → %j', (input, output) => {
    expect(neutralise(input)).toBe(output);
  });
});

describe('csvField', () => {
  it.each([
    [null, ''],
    [0, '0'],
    [200, '200'],
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['"', '""""'],
    ['line\nbreak', '"line\nbreak"'],
    ['carriage\rreturn', '"carriage\rreturn"'],
    ['crlf\r\n', '"crlf\r\n"'],
    ['=cmd|" /C calc"!A0', `"'=cmd|"" /C calc""!A0"`],
    ['-1,2', `"'-1,2"`],
    ['\r\n=evil', `"'\r\n=evil"`],
  ])('%j → %j', (input, output) => {
    expect(csvField(input)).toBe(output);
  });
});

describe('csvRecord', () => {
  it('ends with CRLF, and a CSV parser reads back every value (defused ones with their apostrophe)', () => {
    const values = ['a,b', 'say "hi"', 'two\r\nlines', '', null, 42, 'Zoë 🎉', '=SUM(A1)', '+1', 'x'];
    const text = csvRecord(values) + csvRecord(values);
    expect(text.endsWith('x\r\n')).toBe(true);
    const rows = parse(text, { relax_column_count: false }) as string[][];
    const expected = ['a,b', 'say "hi"', 'two\r\nlines', '', '', '42', 'Zoë 🎉', "'=SUM(A1)", "'+1", 'x'];
    expect(rows).toEqual([expected, expected]);
  });
});
