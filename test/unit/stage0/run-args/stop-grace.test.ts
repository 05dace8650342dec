import { describe, expect, it } from 'vitest';
import { STOP_GRACE_ANNOTATION, stopGraceMs } from '../../../../src/stage0/run-args/stop-grace.js';

const ann = (value: string): Array<{ name: string; value: string }> => [{ name: 'other', value: '9s' }, { name: STOP_GRACE_ANNOTATION, value }];

describe('stopGraceMs (pod annotation capsule.io/stop-grace-period)', () => {
  it('is undefined without the annotation', () => {
    expect(stopGraceMs(undefined)).toBeUndefined();
    expect(stopGraceMs([{ name: 'other', value: '1s' }])).toBeUndefined();
  });

  it.each([
    ['0', 0],
    ['0s', 0],
    ['500ms', 500],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m30s', 90_000],
    ['60m', 3_600_000],
  ])('%s is %d ms', (v, ms) => {
    expect(stopGraceMs(ann(v))).toBe(ms);
  });

  it.each(['', 'soon', '5', '-1s', '2h', '61m', '1s ', '1d'])('refuses %j', (v) => {
    expect(() => stopGraceMs(ann(v))).toThrow(`pod annotation ${STOP_GRACE_ANNOTATION}: invalid duration ${JSON.stringify(v)}`);
  });
});
