import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAuth } from '../../../src/config/auth.js';

const temps: string[] = [];

afterEach(() => {
  for (const t of temps.splice(0)) fs.rmSync(t, { recursive: true, force: true });
});

/** A configuration directory with `auth.d/<name>` files (objects are written as JSON). */
function configDir(files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-auth-'));
  temps.push(dir);
  fs.mkdirSync(path.join(dir, 'auth.d'));
  for (const [name, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, 'auth.d', name), typeof content === 'string' ? content : JSON.stringify(content), { mode: 0o600 });
  }
  return dir;
}

const basic = (domains: string[], user: string, password: string): unknown => ({ rktKind: 'auth', rktVersion: 'v1', domains, type: 'basic', credentials: { user, password } });
const oauth = (domains: string[], token: string): unknown => ({ rktKind: 'auth', rktVersion: 'v1', domains, type: 'oauth', credentials: { token } });
const docker = (registries: string[], user: string, password: string): unknown => ({ rktKind: 'dockerAuth', rktVersion: 'v1', registries, credentials: { user, password } });

/** Decodes a Basic header independently of src/. */
function basicPair(h: Record<string, string>): string {
  const v = h.authorization ?? '';
  expect(v).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
  return Buffer.from(v.slice('Basic '.length), 'base64').toString('utf8');
}

/** The message of what `f` throws (fails the test when it does not throw). */
function thrown(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('header values', () => {
  it('basic: Authorization: Basic base64(user:password), for every listed domain', () => {
    const a = loadAuth([configDir({ 'a.json': basic(['example.com', 'other.org'], 'alice', 'pä:ss word') })]);
    expect(basicPair(a.headersFor('example.com'))).toBe('alice:pä:ss word');
    expect(basicPair(a.headersFor('other.org'))).toBe('alice:pä:ss word');
  });

  it('oauth: Authorization: Bearer <token>', () => {
    const a = loadAuth([configDir({ 'o.json': oauth(['tokens.example.com'], 'abc.DEF-123_~+/=') })]);
    expect(a.headersFor('tokens.example.com')).toEqual({ authorization: 'Bearer abc.DEF-123_~+/=' });
  });

  it('sends nothing to other hosts, sub-domains or parent domains', () => {
    const a = loadAuth([configDir({ 'a.json': basic(['example.com'], 'u', 'p') })]);
    expect(a.headersFor('evil.com')).toEqual({});
    expect(a.headersFor('www.example.com')).toEqual({});
    expect(a.headersFor('com')).toEqual({});
    expect(a.headersFor('example.com.evil.org')).toEqual({});
  });

  it('matches host names case-insensitively and ignores the port only when no host:port entry exists', () => {
    const a = loadAuth([configDir({ 'a.json': basic(['Example.COM'], 'any', 'p'), 'b.json': basic(['example.com:8443'], 'port', 'p') })]);
    expect(basicPair(a.headersFor('EXAMPLE.com'))).toBe('any:p');
    expect(basicPair(a.headersFor('example.com:443'))).toBe('any:p');
    expect(basicPair(a.headersFor('example.com:8443'))).toBe('port:p');
  });

  it('returns a copy: changing the result does not change later answers', () => {
    const a = loadAuth([configDir({ 'a.json': basic(['example.com'], 'u', 'p') })]);
    const h = a.headersFor('example.com');
    h.authorization = 'changed';
    expect(basicPair(a.headersFor('example.com'))).toBe('u:p');
  });

  it('without auth.d, or with no configuration directory at all, sends nothing', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-auth-'));
    temps.push(empty);
    expect(loadAuth([empty, path.join(empty, 'missing')]).headersFor('example.com')).toEqual({});
    expect(loadAuth([]).dockerCredentials('registry-1.docker.io')).toBeUndefined();
  });
});

describe('dockerAuth', () => {
  it('keeps registry credentials apart from the per-domain headers', () => {
    const a = loadAuth([configDir({ 'd.json': docker(['quay.io', 'registry-1.docker.io'], 'bob', 's3cret') })]);
    expect(a.dockerCredentials('quay.io')).toEqual({ user: 'bob', password: 's3cret' });
    expect(a.dockerCredentials('registry-1.docker.io')).toEqual({ user: 'bob', password: 's3cret' });
    expect(a.dockerCredentials('ghcr.io')).toBeUndefined();
    expect(a.headersFor('quay.io')).toEqual({});
  });

  it('a registry and an auth domain of the same name do not clash', () => {
    const a = loadAuth([configDir({ 'a.json': oauth(['quay.io'], 'tok'), 'd.json': docker(['quay.io'], 'bob', 'pw') })]);
    expect(a.headersFor('quay.io')).toEqual({ authorization: 'Bearer tok' });
    expect(a.dockerCredentials('quay.io')).toEqual({ user: 'bob', password: 'pw' });
  });
});

describe('precedence: system < local < user', () => {
  it('a later directory replaces an earlier one per domain; other domains stay', () => {
    const system = configDir({ 'a.json': basic(['example.com', 'system-only.org'], 'system', 'p') });
    const local = configDir({ 'a.json': basic(['example.com', 'local-only.org'], 'local', 'p') });
    const user = configDir({ 'z.json': oauth(['example.com'], 'user-token') });
    const a = loadAuth([system, local, user]);
    expect(a.headersFor('example.com')).toEqual({ authorization: 'Bearer user-token' });
    expect(basicPair(a.headersFor('system-only.org'))).toBe('system:p');
    expect(basicPair(a.headersFor('local-only.org'))).toBe('local:p');
    expect(basicPair(loadAuth([system, local]).headersFor('example.com'))).toBe('local:p');
    expect(basicPair(loadAuth([local, system]).headersFor('example.com'))).toBe('system:p');
  });

  it('docker registries follow the same order', () => {
    const a = loadAuth([configDir({ 'd.json': docker(['quay.io'], 'first', 'p') }), configDir({ 'd.json': docker(['quay.io'], 'second', 'p') })]);
    expect(a.dockerCredentials('quay.io')?.user).toBe('second');
  });
});

describe('which files count', () => {
  it('ignores files not ending in .json and subdirectories (even ones ending in .json)', () => {
    const dir = configDir({ 'notes.txt': 'not json at all', 'a.json.bak': '{', 'good.json': basic(['example.com'], 'u', 'p') });
    fs.mkdirSync(path.join(dir, 'auth.d', 'sub.json'));
    fs.writeFileSync(path.join(dir, 'auth.d', 'sub.json', 'inner.json'), JSON.stringify(basic(['inner.example.com'], 'x', 'y')));
    const a = loadAuth([dir]);
    expect(basicPair(a.headersFor('example.com'))).toBe('u:p');
    expect(a.headersFor('inner.example.com')).toEqual({});
  });

  it('follows a symbolic link to a .json file', () => {
    const target = configDir({ 'real.json': basic(['linked.example.com'], 'l', 'p') });
    const dir = configDir({});
    fs.symlinkSync(path.join(target, 'auth.d', 'real.json'), path.join(dir, 'auth.d', 'link.json'));
    expect(basicPair(loadAuth([dir]).headersFor('linked.example.com'))).toBe('l:p');
  });
});

describe('duplicates within one directory', () => {
  it('the same domain in two files is an error naming both files', () => {
    const dir = configDir({ 'one.json': basic(['example.com'], 'u', 'secret-one'), 'two.json': oauth(['EXAMPLE.com'], 'secret-two') });
    const msg = thrown(() => loadAuth([dir]));
    expect(msg).toContain(path.join(dir, 'auth.d', 'one.json'));
    expect(msg).toContain(path.join(dir, 'auth.d', 'two.json'));
    expect(msg).toContain('"EXAMPLE.com"');
    expect(msg).not.toContain('secret');
  });

  it('the same domain twice in one file is an error naming the file', () => {
    const dir = configDir({ 'one.json': basic(['example.com', 'example.com'], 'u', 'p') });
    expect(thrown(() => loadAuth([dir]))).toContain(`twice in ${path.join(dir, 'auth.d', 'one.json')}`);
  });

  it('the same registry in two dockerAuth files is an error', () => {
    const dir = configDir({ 'a.json': docker(['quay.io'], 'u', 'p'), 'b.json': docker(['quay.io'], 'v', 'q') });
    expect(thrown(() => loadAuth([dir]))).toMatch(/registry "quay\.io".*a\.json.*b\.json/);
  });
});

describe('bad files: the file and the field are named, secrets never', () => {
  const SECRET = 'hunter2-SECRET';
  const cases: [string, unknown, RegExp][] = [
    ['broken JSON (quoting the password would leak it)', `{"rktKind":"auth","credentials":{"password":${SECRET}}}`, /invalid JSON/],
    ['truncated JSON', `{"rktKind":"auth","rktVersion":"v1","credentials":{"password":"${SECRET}"`, /invalid JSON at line 1 column \d+/],
    ['an array', [basic(['a.com'], 'u', SECRET)], /expected a JSON object/],
    ['no rktKind', { rktVersion: 'v1', domains: ['a.com'], type: 'basic', credentials: { user: 'u', password: SECRET } }, /rktKind: must be a string/],
    ['unknown rktKind', { rktKind: 'paths', rktVersion: 'v1' }, /rktKind: unknown kind "paths"/],
    ['unknown rktVersion', { ...(basic(['a.com'], 'u', SECRET) as object), rktVersion: 'v2' }, /rktVersion: unsupported version "v2"/],
    ['no domains', { rktKind: 'auth', rktVersion: 'v1', type: 'basic', credentials: { user: 'u', password: SECRET } }, /domains: must be a non-empty list/],
    ['empty domains', basic([], 'u', SECRET), /domains: must be a non-empty list/],
    ['a domain that is a URL', basic(['https://a.com/x'], 'u', SECRET), /domains\[0\]: "https:\/\/a\.com\/x" is not a host name/],
    ['a non-string domain', { ...(basic(['a.com'], 'u', SECRET) as object), domains: ['a.com', 7] }, /domains\[1\]: must be a non-empty string/],
    ['unknown type', { ...(basic(['a.com'], 'u', SECRET) as object), type: 'digest' }, /type: unknown type "digest"/],
    ['aws (not supported)', { ...(basic(['a.com'], 'u', SECRET) as object), type: 'aws' }, /type: "aws".*not supported/],
    ['no credentials', { rktKind: 'auth', rktVersion: 'v1', domains: ['a.com'], type: 'basic' }, /credentials: must be an object/],
    ['basic without user', { ...(basic(['a.com'], 'u', SECRET) as object), credentials: { password: SECRET } }, /credentials\.user: must be a non-empty string/],
    ['basic user with a colon', basic(['a.com'], 'a:b', SECRET), /credentials\.user: must not contain ":"/],
    ['basic password not a string', { ...(basic(['a.com'], 'u', SECRET) as object), credentials: { user: 'u', password: 1234 } }, /credentials\.password: must be a string/],
    ['basic password with a line break', basic(['a.com'], 'u', `${SECRET}\r\nX-Injected: 1`), /credentials\.password: must not contain control characters/],
    ['oauth without token', { rktKind: 'auth', rktVersion: 'v1', domains: ['a.com'], type: 'oauth', credentials: { user: SECRET } }, /credentials\.token: must be a non-empty string/],
    ['oauth token with a line break', oauth(['a.com'], `${SECRET}\nX-Injected: 1`), /credentials\.token: must not contain white space/],
    ['dockerAuth without registries', { rktKind: 'dockerAuth', rktVersion: 'v1', credentials: { user: 'u', password: SECRET } }, /registries: must be a non-empty list/],
    ['dockerAuth without password', { rktKind: 'dockerAuth', rktVersion: 'v1', registries: ['quay.io'], credentials: { user: 'u' } }, /credentials\.password: must be a string/],
  ];

  it.each(cases)('%s', (_what, content, problem) => {
    const dir = configDir({ 'bad.json': content });
    const msg = thrown(() => loadAuth([dir]));
    expect(msg.startsWith(`${path.join(dir, 'auth.d', 'bad.json')}: `), msg).toBe(true);
    expect(msg).toMatch(problem);
    expect(msg).not.toContain(SECRET.slice(0, 7)); // V8 quotes parts of bad JSON: not even part of it
  });

  it('a bad file in any directory fails the whole load (credentials are never half-applied)', () => {
    const good = configDir({ 'a.json': basic(['example.com'], 'u', 'p') });
    const bad = configDir({ 'b.json': '{' });
    expect(thrown(() => loadAuth([good, bad]))).toContain('b.json');
  });

  it('a file where auth.d should be counts as no auth.d', () => {
    const dir = configDir({});
    fs.rmSync(path.join(dir, 'auth.d'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'auth.d'), 'a file where the directory should be');
    expect(loadAuth([dir]).headersFor('example.com')).toEqual({});
  });

  // root reads any directory, so the permission case cannot be made there.
  it.skipIf(process.getuid?.() === 0)('an unreadable auth.d is an error naming it, not "no credentials"', () => {
    const locked = configDir({ 'a.json': basic(['example.com'], 'u', 'p') });
    fs.chmodSync(path.join(locked, 'auth.d'), 0o000);
    try {
      expect(thrown(() => loadAuth([locked]))).toContain(path.join(locked, 'auth.d'));
    } finally {
      fs.chmodSync(path.join(locked, 'auth.d'), 0o755);
    }
  });
});
