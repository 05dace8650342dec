import { CapsuleError } from '../../errors/capsule-error.js';

/** One challenge of a `WWW-Authenticate` header (RFC 7235 §4.1): scheme in lower case, parameter names in lower case. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge has one instead of parameters. */
  token68?: string;
}

/** Longer headers are refused: nothing legitimate needs more, and parsing stays cheap. */
const MAX_HEADER = 16 * 1024;
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

const malformed = (why: string): CapsuleError => new CapsuleError('registry-auth', `malformed WWW-Authenticate header: ${why}`);

/**
 * Parses every challenge of a `WWW-Authenticate` value, several headers joined with ", " included:
 * `1#challenge`, `challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`, parameter values
 * tokens or quoted strings (which may hold commas, spaces and `\"`). A comma ends a parameter;
 * a token not followed by `=` starts the next challenge. Throws a one-line CapsuleError on input
 * that is not this grammar (a naive split on commas breaks on `scope="repository:a:pull,push"`).
 */
export function parseChallenges(header: string): Challenge[] {
  if (header.length > MAX_HEADER) throw malformed(`longer than ${MAX_HEADER} characters`);
  const s = header;
  let i = 0;
  const out: Challenge[] = [];
  const skipWs = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const skipWsAndCommas = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === ',')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && TCHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  const quoted = (): string => {
    // s[i] is the opening quote.
    i++;
    let v = '';
    for (;;) {
      if (i >= s.length) throw malformed('unterminated quoted string');
      const c = s[i]!;
      if (c === '"') {
        i++;
        return v;
      }
      if (c === '\\') {
        if (i + 1 >= s.length) throw malformed('unterminated quoted string');
        v += s[i + 1];
        i += 2;
        continue;
      }
      if (/[\p{Cc}]/u.test(c) && c !== '\t') throw malformed('control character in a quoted string');
      v += c;
      i++;
    }
  };
  /** Whether the text at i is `token BWS "="` followed by something other than "=" (an auth-param, not a token68). */
  const atParam = (): boolean => {
    let j = i;
    while (j < s.length && TCHAR.test(s[j]!)) j++;
    if (j === i) return false;
    while (j < s.length && (s[j] === ' ' || s[j] === '\t')) j++;
    if (s[j] !== '=') return false;
    j++;
    while (j < s.length && (s[j] === ' ' || s[j] === '\t')) j++;
    return j < s.length && s[j] !== '=' && s[j] !== ',';
  };

  skipWsAndCommas();
  while (i < s.length) {
    const scheme = token();
    if (scheme === '') throw malformed(`expected an authentication scheme at character ${i + 1}`);
    const ch: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(ch);
    const sawSpace = i < s.length && s[i] === ' ';
    skipWs();
    if (i >= s.length || s[i] === ',') {
      skipWsAndCommas();
      continue;
    }
    if (!sawSpace) throw malformed(`expected a space after the scheme ${JSON.stringify(scheme)}`);
    if (!atParam()) {
      const start = i;
      while (i < s.length && TOKEN68_CHAR.test(s[i]!)) i++;
      while (i < s.length && s[i] === '=') i++;
      if (i === start) throw malformed(`unexpected character at ${i + 1}`);
      ch.token68 = s.slice(start, i);
      skipWs();
      if (i < s.length && s[i] !== ',') throw malformed(`unexpected character at ${i + 1}`);
      skipWsAndCommas();
      continue;
    }
    // auth-params until the next challenge's scheme.
    for (;;) {
      const name = token().toLowerCase();
      skipWs();
      i++; // "=" (atParam checked it)
      skipWs();
      let value: string;
      if (s[i] === '"') value = quoted();
      else {
        value = token();
        if (value === '') throw malformed(`parameter ${JSON.stringify(name)} has no value`);
      }
      if (Object.hasOwn(ch.params, name)) throw malformed(`parameter ${JSON.stringify(name)} given twice in one challenge`);
      ch.params[name] = value;
      skipWs();
      if (i >= s.length) break;
      if (s[i] !== ',') throw malformed(`expected "," at character ${i + 1}`);
      skipWsAndCommas();
      if (i >= s.length || !atParam()) break;
    }
  }
  return out;
}
