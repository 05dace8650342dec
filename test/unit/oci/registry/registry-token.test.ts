import { describe, expect, it } from 'vitest';
import { parseTokenResponse, tokenUrl } from '../../../../src/oci/registry/registry-token.js';

const j = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

describe('parseTokenResponse', () => {
  it.each([
    [{ token: 'abc', expires_in: 300 }, 'abc', 300_000],
    [{ access_token: 'def' }, 'def', 60_000],
    [{ token: 'old', access_token: 'new', expires_in: 10 }, 'new', 60_000],
    [{ token: 'abc', expires_in: 3600, issued_at: '2099-01-01T00:00:00Z' }, 'abc', 3_600_000],
  ])('%j', (doc, token, lifetime) => {
    expect(parseTokenResponse(j(doc), 1000)).toEqual({ token, expiresAt: 1000 + lifetime });
  });

  it.each([
    ['<html>', /not JSON/],
    ['[1]', /not a JSON object/],
    [JSON.stringify({ expires_in: 3 }), /neither "token" nor "access_token"/],
    [JSON.stringify({ token: 5 }), /not a string/],
    [JSON.stringify({ token: 'a\r\nX-Evil: 1' }), /characters a header cannot carry/],
    [JSON.stringify({ token: 'a', expires_in: '300' }), /not a number/],
  ])('refuses %s', (body, why) => {
    expect(() => parseTokenResponse(Buffer.from(body), 0)).toThrow(why);
  });
});

describe('tokenUrl', () => {
  it('adds service and one scope parameter per scope', () => {
    const u = tokenUrl({ scheme: 'bearer', params: { realm: 'https://auth.example/token?x=1', service: 'reg' } }, ['repository:a/b:pull']);
    expect(u.toString()).toBe('https://auth.example/token?x=1&service=reg&scope=repository%3Aa%2Fb%3Apull');
  });
  it.each([
    [{}, /without a realm/],
    [{ realm: 'not a url' }, /is not a URL/],
    [{ realm: 'file:///etc/passwd' }, /not an http\(s\) URL/],
  ])('refuses realm %j', (params, why) => {
    expect(() => tokenUrl({ scheme: 'bearer', params }, [])).toThrow(why);
  });
});
