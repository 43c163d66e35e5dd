import { describe, expect, it } from 'vitest';
import { iso } from '../../src/core/export-format.js';

describe("the export's timestamps", () => {
  const asDate = (ms: number) => new Date(ms).toISOString();

  it('are what Date writes, for times in order as an export reads them', () => {
    const start = Date.UTC(2026, 11, 31, 23, 58, 30, 5);
    for (let ms = start; ms < start + 3 * 60_000; ms += 997) expect(iso(ms)).toBe(asDate(ms));
  });

  it('are what Date writes, for times in any order and at the edges', () => {
    let state = 42;
    const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
    const edges = [0, 1, 59_999, 60_000, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(9999, 11, 31, 23, 59, 59, 999), 1.7e12 + 0.9];
    const times = [...edges, ...Array.from({ length: 5000 }, () => Math.floor(random() * Date.UTC(2200, 0, 1)))];
    for (const ms of times) expect(iso(ms)).toBe(asDate(ms));
    for (const ms of [-1, -0.5, Date.UTC(10_000, 0, 1), Date.UTC(-1, 0, 1)]) expect(iso(ms)).toBe(asDate(ms));
    expect(() => iso(NaN)).toThrow(RangeError);
  });
});
