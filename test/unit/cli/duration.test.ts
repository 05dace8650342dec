import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/cli/duration.js';

describe('parseDuration (Go-style, as rkt’s --grace-period takes it)', () => {
  const good: [string, number][] = [
    ['0', 0],
    ['0s', 0],
    ['1s', 1000],
    ['30m', 30 * 60_000],
    ['24h', 24 * 3_600_000],
    ['1h30m', 90 * 60_000],
    ['1h30m15s', 5_415_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['2000000ns', 2],
    ['10m10m', 20 * 60_000],
  ];
  for (const [s, ms] of good) it(`${s} = ${ms} ms`, () => expect(parseDuration(s, '--grace-period')).toBeCloseTo(ms, 6));

  const bad = ['', '24', 'h', '1d', '1w', '-1h', '+1h', '1 h', ' 1h', '1h ', '1H', '1.h', 'soon', '1h-30m', '0x10s'];
  for (const s of bad) {
    it(`rejects ${JSON.stringify(s)} naming the flag`, () => {
      expect(() => parseDuration(s, '--grace-period')).toThrow(/for --grace-period \(examples: 30m, 24h, 1h30m\)/);
    });
  }
  it('is a usage error', () => {
    try {
      parseDuration('x', '--f');
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('usage');
    }
  });
});
