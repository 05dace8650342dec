/**
 * A JSON parser for signed claims: RFC 8259 exactly, plus the rule containers/image applies to
 * signatures: an object may not name a key twice (two parsers reading `{"a":1,"a":2}` differently
 * is how a claim says one thing to one checker and another to the next). Nesting is bounded.
 * Also refused: numbers JSON.parse would turn into Infinity (`1e400`) and strings with a lone
 * UTF-16 surrogate (`"\ud800"`), which no UTF-8 reader can represent. Used for signed claims and
 * for appc image and pod manifests (issue 12 §3).
 */
export const MAX_CLAIM_DEPTH = 32;

export class StrictJsonError extends Error {}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function parseStrictJson(text: string, maxDepth = MAX_CLAIM_DEPTH): unknown {
  let i = 0;
  const fail = (why: string): never => {
    throw new StrictJsonError(`${why} at character ${i + 1}`);
  };
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const string = (): string => {
    // text[i] is '"'; the literal is handed to JSON.parse once its extent is known.
    const start = i++;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in a string');
      if (c === 0x5c) i++;
      i++;
    }
    i++;
    let s: string;
    try {
      s = JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail('invalid string escape');
    }
    if (LONE_SURROGATE.test(s)) fail('lone surrogate in a string (not representable in UTF-8)');
    return s;
  };
  /** The members of an object or array (text[i] is its opening bracket), `each` reading one; ends after `close`. */
  const members = (close: '}' | ']', each: () => void): void => {
    i++;
    ws();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      each();
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === close) {
        i++;
        return;
      }
      fail(`expected "," or "${close}"`);
    }
  };
  const value = (depth: number): unknown => {
    if (depth > maxDepth) fail(`nested deeper than ${maxDepth} levels`);
    ws();
    const c = text[i];
    if (c === '{') {
      const out: Record<string, unknown> = {};
      members('}', () => {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const k = string();
        if (Object.hasOwn(out, k)) fail(`duplicate key ${JSON.stringify(k)}`);
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        Object.defineProperty(out, k, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
      });
      return out;
    }
    if (c === '[') {
      const out: unknown[] = [];
      members(']', () => out.push(value(depth + 1)));
      return out;
    }
    if (c === '"') return string();
    const m = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) return fail('unexpected character');
    const n = JSON.parse(m[0]) as unknown;
    if (typeof n === 'number' && !Number.isFinite(n)) fail(`number ${m[0]} out of range`);
    i += m[0].length;
    return n;
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('unexpected text after the value');
  return v;
}
