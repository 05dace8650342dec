import { describe, expect, it } from 'vitest';
import { CapsuleError } from '../../../src/errors/capsule-error.js';
import { decodePlan, encodePlan } from '../../../src/stage1/common/plan-file.js';

describe('stage1 plan file', () => {
  it('writes every key and value as a NUL-terminated string, in order', () => {
    const buf = encodePlan([
      ['app', 'web'],
      ['app-arg', '/bin/sh'],
      ['app-arg', ''],
      ['app-env', 'A=b=c'],
    ]);
    expect(buf.toString('latin1')).toBe('app\0web\0app-arg\0/bin/sh\0app-arg\0\0app-env\0A=b=c\0');
  });

  it('writes nothing for an empty plan', () => {
    expect(encodePlan([]).length).toBe(0);
    expect(decodePlan(Buffer.alloc(0))).toEqual([]);
  });

  it('round-trips UTF-8, spaces, newlines and repeated keys', () => {
    const entries: Array<[string, string]> = [
      ['app-arg', 'héllo wörld'],
      ['app-arg', 'line1\nline2'],
      ['app-env', 'EMOJI=🙂'],
      ['app-arg', 'héllo wörld'],
    ];
    expect(decodePlan(encodePlan(entries))).toEqual(entries);
  });

  it('refuses a NUL byte in a key or a value', () => {
    const inValue = (): Buffer => encodePlan([['app-arg', 'a\0b']]);
    const inKey = (): Buffer => encodePlan([['app\0x', 'v']]);
    for (const f of [inValue, inKey]) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CapsuleError);
      expect((err as CapsuleError).code).toBe('stage1-plan');
    }
    expect(inValue).toThrow(/value contains a NUL byte/);
    expect(inKey).toThrow(/key contains a NUL byte/);
  });

  it('decodePlan refuses an unterminated string and a key without value', () => {
    expect(() => decodePlan(Buffer.from('app\0web'))).toThrow(/not NUL-terminated/);
    expect(() => decodePlan(Buffer.from('app\0web\0app-arg\0'))).toThrow(/has no value/);
  });
});
