import { describe, expect, it } from 'vitest';
import { parseQuantity } from '../../../src/spec/quantity.js';

describe('resource quantities', () => {
  const good: [unknown, number][] = [
    ['0', 0],
    ['1', 1],
    ['500m', 0.5],
    ['250m', 0.25],
    ['1.5', 1.5],
    ['1k', 1000],
    ['1K', 1000],
    ['1M', 1e6],
    ['2G', 2e9],
    ['1T', 1e12],
    ['1Ki', 1024],
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1e3', 1000],
    ['5E2', 500],
    ['100u', 1e-4],
    [1024, 1024],
    [0, 0],
  ];
  for (const [input, want] of good) it(`${JSON.stringify(input)} = ${want}`, () => expect(parseQuantity(input, 'f')).toBeCloseTo(want, 10));

  const bad: unknown[] = ['', 'abc', '1 Gi', '-1', '1GB', '1gi', 'Mi', '1.', '.5', '1Mi ', -5, Number.NaN, Infinity, null, {}, true];
  for (const input of bad) {
    it(`rejects ${String(JSON.stringify(input))}`, () => expect(() => parseQuantity(input, 'app.isolators[0].limit')).toThrow(/^app\.isolators\[0\]\.limit: /));
  }
});
