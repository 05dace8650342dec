import { describe, expect, it } from 'vitest';
import { humanAgo, humanSize, longTime, renderJson, renderTable } from '../../../src/cli/table.js';

describe('renderTable (Go tabwriter as rkt used it: tabs, tab stops of 8, padding 1)', () => {
  it('pads every column but the last with tabs up to a common tab stop', () => {
    const out = renderTable(['ID', 'NAME', 'SIZE'], [['sha512-aa', 'example.com/a', '1KiB'], ['sha512-bbbb', 'b', '10MiB']], true);
    expect(out).toBe(['ID\t\tNAME\t\tSIZE', 'sha512-aa\texample.com/a\t1KiB', 'sha512-bbbb\tb\t\t10MiB', ''].join('\n'));
  });
  it('cells split on tabs give the cells back, empty ones included, when nothing is wider than a tab stop', () => {
    const out = renderTable(['A', 'B', 'C'], [['x', '', 'z']], true);
    expect(out).toBe('A\tB\tC\nx\t\tz\n');
    expect(out.split('\n')[1]?.split('\t')).toEqual(['x', '', 'z']);
  });
  it('a 7-character cell takes one tab, an 8-character cell a tab after the next stop', () => {
    expect(renderTable(['1234567', 'x'], [], true)).toBe('1234567\tx\n');
    expect(renderTable(['12345678', 'x'], [['a', 'y']], true)).toBe('12345678\tx\na\t\ty\n');
  });
  it('without a legend prints rows only, widths from the rows', () => {
    expect(renderTable(['A-LONG-HEADER', 'B'], [['x', 'y']], false)).toBe('x\ty\n');
  });
  it('an empty table is the legend alone, or nothing', () => {
    expect(renderTable(['ID', 'NAME'], [], true)).toBe('ID\tNAME\n');
    expect(renderTable(['ID', 'NAME'], [], false)).toBe('');
  });
  it('an empty last cell leaves nothing after the last tab', () => {
    expect(renderTable(['A', 'B'], [['x', '']], true)).toBe('A\tB\nx\t\n');
  });
  it('widths count characters, not bytes', () => {
    expect(renderTable(['ééééééé', 'x'], [], true)).toBe('ééééééé\tx\n');
  });
});

describe('renderJson', () => {
  it('json is one line, json-pretty is tab-indented; both parse back', () => {
    const v = [{ id: 'x', size: 1 }];
    expect(renderJson(v, 'json')).toBe('[{"id":"x","size":1}]\n');
    expect(renderJson(v, 'json-pretty')).toBe('[\n\t{\n\t\t"id": "x",\n\t\t"size": 1\n\t}\n]\n');
    expect(JSON.parse(renderJson(v, 'json-pretty'))).toEqual(v);
  });
});

describe('humanSize (IEC, like rkt)', () => {
  const cases: [number, string][] = [
    [0, '0B'],
    [1023, '1023B'],
    [1024, '1KiB'],
    [1536, '1.5KiB'],
    [10 * 1024, '10KiB'],
    [10.6 * 1024, '11KiB'],
    [12 * 2 ** 20, '12MiB'],
    [3.94 * 2 ** 20, '3.9MiB'],
    [2 ** 30, '1GiB'],
    [5 * 2 ** 40, '5TiB'],
    [2048 * 2 ** 40, '2048TiB'],
  ];
  for (const [n, s] of cases) it(`${n} → ${s}`, () => expect(humanSize(n)).toBe(s));
});

describe('humanAgo', () => {
  const now = Date.UTC(2026, 0, 1);
  const cases: [number, string][] = [
    [0, '0 seconds ago'],
    [1000, '1 second ago'],
    [59_000, '59 seconds ago'],
    [60_000, '1 minute ago'],
    [150_000, '3 minutes ago'],
    [3_600_000, '1 hour ago'],
    [5 * 3_600_000, '5 hours ago'],
    [86_400_000, '1 day ago'],
    [10 * 86_400_000, '10 days ago'],
    [-5000, '0 seconds ago'],
  ];
  for (const [ago, s] of cases) it(`${ago} ms → ${s}`, () => expect(humanAgo(now - ago, now)).toBe(s));
});

describe('longTime (rkt’s 2006-01-02 15:04:05.999 -0700 MST, in UTC)', () => {
  it('drops trailing zeros of the milliseconds, and the dot when there are none', () => {
    expect(longTime(Date.UTC(2026, 10, 24, 17, 8, 45, 123))).toBe('2026-11-24 17:08:45.123 +0000 UTC');
    expect(longTime(Date.UTC(2026, 10, 24, 17, 8, 45, 120))).toBe('2026-11-24 17:08:45.12 +0000 UTC');
    expect(longTime(Date.UTC(2026, 10, 24, 17, 8, 45, 0))).toBe('2026-11-24 17:08:45 +0000 UTC');
    expect(longTime(0)).toBe('1970-01-01 00:00:00 +0000 UTC');
  });
});
