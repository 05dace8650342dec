import { describe, expect, it } from 'vitest';
import { parseStrictJson } from '../../../../src/spec/strict-json.js';

describe('parseStrictJson', () => {
  it.each(['{"a":[1,-2.5e3,true,false,null,"x\\u0041\\n"],"b":{}}', ' [ ] ', '"s"', '0'])('parses %s as JSON.parse does', (t) => {
    expect(parseStrictJson(t)).toEqual(JSON.parse(t));
  });
  it('keeps __proto__ as a plain key', () => {
    const v = parseStrictJson('{"__proto__":{"x":1}}') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
  });
  it.each([
    ['{"a":1,"a":2}', /duplicate key "a"/],
    ['{"a":{"b":1,"b":1}}', /duplicate key "b"/],
    ['{"a":1,}', /expected a key/],
    ['[1 2]', /expected ","/],
    ['{"a":01}', /unexpected text|expected/],
    ['"a\u0001"', /control character/],
    ['{} x', /unexpected text after the value/],
    ['"\\x"', /invalid string escape/],
    ['[' .repeat(40) + ']'.repeat(40), /nested deeper/],
    ['NaN', /unexpected character/],
  ])('refuses %s', (t, why) => {
    expect(() => parseStrictJson(t)).toThrow(why);
  });
});
