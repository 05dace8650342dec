import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../../src/cli/duration.js';
import { addLogTimes, emptyLogTimes, firstOffsetSince, formatLogTime, parseSince, timeAt } from '../../../../src/stage0/pod/log-times.js';

const S = 1_000_000_000n;
const dur = (s: string): number => parseDuration(s, '--since');

describe('log times file', () => {
  it('parses whole records, keeps a partial one for later, skips damaged ones', () => {
    const t = emptyLogTimes();
    let rest = addLogTimes(t, '0 100.000000001\n12 101.5\n12 102.000000000\n3 103.000000000\n40 10');
    expect(t.offsets).toEqual([0, 12]);
    expect(t.times).toEqual([100n * S + 1n, 102n * S]);
    rest = addLogTimes(t, `${rest}4.000000000\n`);
    expect(rest).toBe('');
    expect(t.offsets).toEqual([0, 12, 40]);
  });

  it('a byte is dated by the last record at or before it', () => {
    const t = emptyLogTimes();
    addLogTimes(t, '5 10.000000000\n20 20.000000000\n30 30.000000000\n');
    const cases: [number, bigint | null][] = [[0, null], [4, null], [5, 10n * S], [19, 10n * S], [20, 20n * S], [29, 20n * S], [1000, 30n * S]];
    for (const [o, want] of cases) expect(timeAt(t, o), `offset ${o}`).toBe(want);
    expect(firstOffsetSince(t, 15n * S)).toBe(20);
    expect(firstOffsetSince(t, 20n * S)).toBe(20);
    expect(firstOffsetSince(t, 31n * S)).toBeNull();
  });

  it('times print as RFC 3339 UTC with nanoseconds', () => {
    expect(formatLogTime(BigInt(Date.UTC(2026, 11, 6, 13, 5, 57)) * 1_000_000n + 123_456_789n)).toBe('2026-12-06T13:05:57.123456789Z');
    expect(formatLogTime(0n)).toBe('1970-01-01T00:00:00.000000000Z');
  });
});

describe('--since', () => {
  const now = Date.UTC(2026, 11, 6, 12, 0, 0);
  const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;
  const good: [string, bigint][] = [
    ['10m', ns(now - 600_000)],
    ['1h30m', ns(now - 5_400_000)],
    ['0s', ns(now)],
    ['2026-12-06T11:00:00Z', ns(Date.UTC(2026, 11, 6, 11))],
    ['2026-12-06t11:00:00z', ns(Date.UTC(2026, 11, 6, 11))],
    ['2026-12-06 11:00:00Z', ns(Date.UTC(2026, 11, 6, 11))],
    ['2026-12-06T11:00:00.5Z', ns(Date.UTC(2026, 11, 6, 11)) + 500_000_000n],
    ['2026-12-06T11:00:00.000000001Z', ns(Date.UTC(2026, 11, 6, 11)) + 1n],
    ['2026-12-06T13:00:00+02:00', ns(Date.UTC(2026, 11, 6, 11))],
    ['2026-12-06T08:30:00-02:30', ns(Date.UTC(2026, 11, 6, 11))],
    ['2026-12-06', ns(Date.UTC(2026, 11, 6))],
  ];
  for (const [s, want] of good) it(`${s}`, () => expect(parseSince(s, now, dur)).toBe(want));
  const bad: [string, RegExp][] = [
    ['yesterday', /^invalid value "yesterday" for --since: a duration/],
    ['10', /for --since: a duration/],
    ['2026-12-06T11:00:00', /give its zone/],
    ['2026-02-30', /no such date/],
    ['2026-12-06T24:00:00Z', /no such date or time/],
  ];
  for (const [s, re] of bad) it(`refuses ${s}`, () => expect(() => parseSince(s, now, dur)).toThrow(re));
});
