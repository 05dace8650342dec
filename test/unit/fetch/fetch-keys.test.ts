import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveGlobalOptions, type GlobalOptions } from '../../../src/config/global-options.js';
import type { HttpGetter } from '../../../src/fetch/discovery.js';
import { discoverAndTrustKeys, httpsAutoAccept, parseKeyLocation, trustKeys, type KeyLocation, type KeyTrustHooks, type KeyTrustUi, type TrustKeysRequest } from '../../../src/fetch/fetch-keys.js';
import type { HttpResponse } from '../../../src/fetch/http-client.js';
import { displayFingerprint } from '../../../src/spec/fingerprint.js';
import { keystoreRoots, type KeystoreRoots } from '../../../src/verify/keystore.js';
import { parsePublicKeys, type ParsedKey } from '../../../src/verify/public-key.js';

let keyA: ParsedKey;
let keyB: ParsedKey;

beforeAll(async () => {
  const gen = async (name: string): Promise<ParsedKey> => {
    const k = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name, email: `${name.toLowerCase()}@example.com` }], format: 'armored' });
    return (await parsePublicKeys(Buffer.from(k.publicKey), name))[0]!;
  };
  [keyA, keyB] = [await gen('Alpha'), await gen('Beta')];
});

let base = '';
let roots: KeystoreRoots;

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-fetch-keys-'));
  roots = keystoreRoots(path.join(base, 'usr-lib'), path.join(base, 'etc'));
});

afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

type Answer = { status: number; body?: string } | Error;

function fakeHttp(table: Record<string, Answer>): HttpGetter & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    get: (url: string) => {
      asked.push(url);
      const a = table[url] ?? { status: 404 };
      if (a instanceof Error) return Promise.reject(a);
      const body = Buffer.from(a.body ?? '');
      const res: HttpResponse = {
        status: a.status,
        headers: {},
        url,
        body: (async function* () {
          await Promise.resolve();
          yield body;
        })(),
        dump: () => Promise.resolve(),
      };
      return Promise.resolve(res);
    },
  };
}

/** A UI that records what it was told and answers questions from a list. */
function recordingUi(answers: boolean[] | undefined): KeyTrustUi & { lines: string[]; shown: string[]; asked: number } {
  const ui = {
    lines: [] as string[],
    shown: [] as string[],
    asked: 0,
    status: (l: string) => ui.lines.push(l),
    show: (t: string) => ui.shown.push(t),
    ask: answers === undefined ? undefined : () => Promise.resolve(answers[ui.asked++] ?? false),
  };
  return ui;
}

const storedFile = (prefix: string, k: ParsedKey): string => path.join(roots.local, 'prefix.d', ...prefix.split('/'), k.fingerprint);

function request(over: Partial<TrustKeysRequest> & { locations: KeyLocation[] }, http: HttpGetter = fakeHttp({})): TrustKeysRequest {
  return { roots, scope: { kind: 'prefix', prefix: 'example.com/app' }, http: () => http, skipReview: false, autoAcceptHttps: false, noTtyHint: 'the hint', ...over };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

const loc = (arg: string, allowHttp = false): KeyLocation => parseKeyLocation(arg, { allowHttp, httpFlag: '--insecure-allow-http' });

describe('parseKeyLocation', () => {
  it('https URLs, with credentials kept for the request and removed from what is shown', () => {
    expect(loc('https://example.com/pubkeys.gpg')).toEqual({ kind: 'url', url: 'https://example.com/pubkeys.gpg', shown: 'https://example.com/pubkeys.gpg', https: true });
    expect(loc('https://u:secret@example.com/k.gpg')).toMatchObject({ url: 'https://u:secret@example.com/k.gpg', shown: 'https://example.com/k.gpg' });
  });

  it('http URLs only when allowed, naming the flag that allows them', () => {
    expect(() => loc('http://example.com/k.gpg')).toThrow('--insecure-allow-http required for http URLs');
    expect(() => parseKeyLocation('http://example.com/k.gpg', { allowHttp: false, httpFlag: '--insecure-options=pubkey' })).toThrow('--insecure-options=pubkey required for http URLs');
    expect(loc('http://example.com/k.gpg', true)).toMatchObject({ kind: 'url', https: false });
  });

  it('local files, with or without file://; other schemes refused', () => {
    expect(loc('/tmp/k.pub')).toEqual({ kind: 'file', path: '/tmp/k.pub', shown: '/tmp/k.pub' });
    expect(loc('file:///tmp/k.pub')).toEqual({ kind: 'file', path: '/tmp/k.pub', shown: 'file:///tmp/k.pub' });
    expect(() => loc('ftp://example.com/k.gpg')).toThrow('only local files and http or https URLs supported');
  });
});

describe('trustKeys', () => {
  const KEY_URL = 'https://example.com/pubkeys.gpg';

  it('fetches a key over https, shows it, asks, and stores it for the prefix', async () => {
    const http = fakeHttp({ [KEY_URL]: { status: 200, body: keyA.armored } });
    const ui = recordingUi([true]);
    const stored = await trustKeys(request({ locations: [loc(KEY_URL)] }, http), ui);
    expect(stored).toEqual([storedFile('example.com/app', keyA)]);
    expect(fs.readFileSync(stored[0]!, 'utf8')).toContain('BEGIN PGP PUBLIC KEY BLOCK');
    expect(ui.asked).toBe(1);
    expect(ui.shown).toHaveLength(1);
    expect(ui.shown[0]).toContain(`gpg key fingerprint is: ${displayFingerprint(keyA.fingerprint)}`);
    expect(ui.lines).toEqual([
      'prefix: "example.com/app"',
      `key: "${KEY_URL}"`,
      `Trusting "${KEY_URL}" for prefix "example.com/app" after fingerprint review.`,
      `Added key for prefix "example.com/app" at ${JSON.stringify(stored[0])}`,
    ]);
  });

  it('a key file with two keys: each is shown and asked about; a "no" stores nothing for it', async () => {
    const file = path.join(base, 'two.gpg');
    fs.writeFileSync(file, Buffer.concat([keyA.key.write(), keyB.key.write()])); // a binary key ring
    const ui = recordingUi([false, true]);
    const stored = await trustKeys(request({ locations: [loc(file)] }), ui);
    expect(ui.asked).toBe(2);
    expect(stored).toEqual([storedFile('example.com/app', keyB)]);
    expect(fs.existsSync(storedFile('example.com/app', keyA))).toBe(false);
    expect(ui.lines).toContain(`not trusting ${JSON.stringify(file)}`);
  });

  it('without a way to ask, refuses before fetching or storing anything, with the hint', async () => {
    const http = fakeHttp({ [KEY_URL]: { status: 200, body: keyA.armored } });
    const e = await rejection(trustKeys(request({ locations: [loc(KEY_URL)] }, http), recordingUi(undefined)));
    expect(e.message).toBe('unable to ask user to review fingerprint due to lack of tty');
    expect((e as { hint?: string }).hint).toBe('the hint');
    expect(http.asked).toEqual([]);
    expect(fs.existsSync(roots.local)).toBe(false);
  });

  it('--skip-fingerprint-review trusts without asking and says so', async () => {
    const http = fakeHttp({ [KEY_URL]: { status: 200, body: keyA.armored } });
    const ui = recordingUi(undefined);
    await trustKeys(request({ locations: [loc(KEY_URL)], skipReview: true }, http), ui);
    expect(ui.lines).toContain(`Trusting "${KEY_URL}" for prefix "example.com/app" without fingerprint review.`);
    expect(fs.existsSync(storedFile('example.com/app', keyA))).toBe(true);
  });

  it('auto-accepts keys from https URLs only: an http key still needs a review', async () => {
    const httpUrl = 'http://example.com/k.gpg';
    const http = fakeHttp({ [KEY_URL]: { status: 200, body: keyA.armored }, [httpUrl]: { status: 200, body: keyB.armored } });
    const ok = await trustKeys(request({ locations: [loc(KEY_URL)], autoAcceptHttps: true }, http), recordingUi(undefined));
    expect(ok).toEqual([storedFile('example.com/app', keyA)]);
    const e = await rejection(trustKeys(request({ locations: [loc(KEY_URL), loc(httpUrl, true)], autoAcceptHttps: true }, http), recordingUi(undefined)));
    expect(e.message).toContain('lack of tty');
    const file = path.join(base, 'a.asc');
    fs.writeFileSync(file, keyA.armored);
    expect((await rejection(trustKeys(request({ locations: [loc(file)], autoAcceptHttps: true }), recordingUi(undefined)))).message).toContain('lack of tty');
  });

  it('stores a root key under root.d', async () => {
    const file = path.join(base, 'a.asc');
    fs.writeFileSync(file, keyA.armored);
    const ui = recordingUi(undefined);
    const stored = await trustKeys(request({ locations: [loc(file)], scope: { kind: 'root' }, skipReview: true }), ui);
    expect(stored).toEqual([path.join(roots.local, 'root.d', keyA.fingerprint)]);
    expect(ui.lines[0]).toBe('prefix: ""');
    expect(ui.lines.at(-1)).toBe(`Added root key at ${JSON.stringify(stored[0])}`);
  });

  it('a key URL that does not answer 200 is an error naming the URL and the status', async () => {
    const e = await rejection(trustKeys(request({ locations: [loc(KEY_URL)], skipReview: true }), recordingUi(undefined)));
    expect(e.message).toBe(`downloading key "${KEY_URL}"`);
    expect((e.cause as Error).message).toBe('bad HTTP status code: 404');
  });

  it('a URL that serves something else than a key is an error', async () => {
    const http = fakeHttp({ [KEY_URL]: { status: 200, body: '<html>not a key</html>' } });
    const e = await rejection(trustKeys(request({ locations: [loc(KEY_URL)], skipReview: true }, http), recordingUi(undefined)));
    expect(e.message).toBe(`downloading key "${KEY_URL}"`);
  });

  it('with onKeyError, a bad location is reported and the others are still trusted', async () => {
    const good = 'https://example.com/good.gpg';
    const http = fakeHttp({ [good]: { status: 200, body: keyB.armored } });
    const errors: string[] = [];
    const stored = await trustKeys(request({ locations: [loc(KEY_URL), loc(good)], skipReview: true, onKeyError: (l) => errors.push(l.shown) }, http), recordingUi(undefined));
    expect(errors).toEqual([KEY_URL]);
    expect(stored).toEqual([storedFile('example.com/app', keyB)]);
  });
});

function globals(o: { insecure?: string; trustKeysFromHttps?: boolean } = {}): GlobalOptions {
  return resolveGlobalOptions({ dir: path.join(base, 'var'), localConfig: path.join(base, 'etc'), systemConfig: path.join(base, 'usr-lib'), insecureOptions: o.insecure, trustKeysFromHttps: o.trustKeysFromHttps });
}

describe('httpsAutoAccept', () => {
  it('needs the flag, checked certificates, and (for discovered keys) a discovery page over https', () => {
    expect(httpsAutoAccept(globals())).toBe(false);
    expect(httpsAutoAccept(globals({ trustKeysFromHttps: true }))).toBe(true);
    expect(httpsAutoAccept(globals({ trustKeysFromHttps: true }), 'https://example.com?ac-discovery=1')).toBe(true);
    expect(httpsAutoAccept(globals({ trustKeysFromHttps: true }), 'http://example.com?ac-discovery=1')).toBe(false);
    expect(httpsAutoAccept(globals({ trustKeysFromHttps: true, insecure: 'tls' }))).toBe(false);
  });
});

describe('discoverAndTrustKeys (fetching by name)', () => {
  const NAME = 'example.com/app';
  const KEY_URL = 'https://example.com/pubkeys.gpg';
  const pageWith = (url: string): string => `<html><head><meta name="ac-discovery-pubkeys" content="example.com ${url}"></head></html>`;
  const served = (keyUrl = KEY_URL, body = keyA.armored): Record<string, Answer> => ({ 'https://example.com?ac-discovery=1': { status: 200, body: pageWith(keyUrl) }, [keyUrl]: { status: 200, body } });

  function hooks(review?: { answers: boolean[] }): KeyTrustHooks & { log: string[]; shown: string[] } {
    const h = {
      log: [] as string[],
      shown: [] as string[],
      warn: (m: string) => h.log.push(`warn: ${m}`),
      info: (m: string) => h.log.push(`info: ${m}`),
      debug: (m: string) => h.log.push(`debug: ${m}`),
      ...(review ? { review: { show: (t: string) => h.shown.push(t), ask: () => Promise.resolve(review.answers.shift() ?? false) } } : {}),
    };
    return h;
  }

  it('with --trust-keys-from-https: discovers, shows and trusts the key for the name', async () => {
    const http = fakeHttp(served());
    const h = hooks();
    expect(await discoverAndTrustKeys(http, globals({ trustKeysFromHttps: true }), NAME, h)).toBe('trusted');
    expect(fs.existsSync(storedFile(NAME, keyA))).toBe(true);
    expect(http.asked).toEqual(['https://example.com/app?ac-discovery=1', 'https://example.com?ac-discovery=1', KEY_URL]);
    expect(h.log).toContain(`info: prefix: "${NAME}"`);
    expect(h.log).toContain(`info: key: "${KEY_URL}"`);
    expect(h.log).toContain(`info: gpg key fingerprint is: ${displayFingerprint(keyA.fingerprint)}`);
    expect(h.log).toContain(`info: Trusting "${KEY_URL}" for prefix "${NAME}" without fingerprint review.`);
  });

  it('does nothing when a key is already trusted for a prefix of the name', async () => {
    fs.mkdirSync(path.dirname(storedFile('example.com', keyB)), { recursive: true });
    fs.writeFileSync(storedFile('example.com', keyB), keyB.armored);
    const http = fakeHttp(served());
    const h = hooks();
    expect(await discoverAndTrustKeys(http, globals({ trustKeysFromHttps: true }), NAME, h)).toBe('already-trusted');
    expect(http.asked).toEqual([]);
    expect(h.log).toEqual([`debug: keys already exist for prefix "${NAME}", not fetching again`]);
  });

  it('a root key does not count as a key for the prefix (rkt)', async () => {
    fs.mkdirSync(path.join(roots.local, 'root.d'), { recursive: true });
    fs.writeFileSync(path.join(roots.local, 'root.d', keyB.fingerprint), keyB.armored);
    expect(await discoverAndTrustKeys(fakeHttp(served()), globals({ trustKeysFromHttps: true }), NAME, hooks())).toBe('trusted');
  });

  it('without the flag and without a terminal: fails with the hints, stores nothing', async () => {
    const http = fakeHttp(served());
    const e = await rejection(discoverAndTrustKeys(http, globals(), NAME, hooks()));
    expect(e.message).toBe('unable to ask user to review fingerprint due to lack of tty');
    expect((e as { hint?: string }).hint).toBe(`to trust the key for "${NAME}", run: capsule trust --prefix "${NAME}", or call capsule with --trust-keys-from-https`);
    expect(http.asked).not.toContain(KEY_URL);
    expect(fs.existsSync(roots.local)).toBe(false);
  });

  it('with a terminal: shows the key through the reviewer and respects the answer', async () => {
    const h = hooks({ answers: [false] });
    expect(await discoverAndTrustKeys(fakeHttp(served()), globals(), NAME, h)).toBe('none-trusted');
    expect(h.shown[0]).toContain(displayFingerprint(keyA.fingerprint));
    expect(h.log).toContain(`info: not trusting "${KEY_URL}"`);
    const yes = hooks({ answers: [true] });
    expect(await discoverAndTrustKeys(fakeHttp(served()), globals(), NAME, yes)).toBe('trusted');
    expect(yes.log).toContain(`info: Trusting "${KEY_URL}" for prefix "${NAME}" after fingerprint review.`);
  });

  it('discovery finding no keys is a warning, not an error (a root key may still verify)', async () => {
    const h = hooks();
    expect(await discoverAndTrustKeys(fakeHttp({}), globals({ trustKeysFromHttps: true }), NAME, h)).toBe('not-found');
    expect(h.log.filter((l) => l.startsWith('warn: '))).toEqual([expect.stringMatching(/^warn: error determining key location: discovery failed for "example\.com\/app": /)]);
  });

  it('with --insecure-options=tls alone, keys are not discovered at all', async () => {
    const http = fakeHttp(served());
    const h = hooks();
    expect(await discoverAndTrustKeys(http, globals({ trustKeysFromHttps: true, insecure: 'tls' }), NAME, h)).toBe('skipped');
    expect(http.asked).toEqual([]);
    expect(h.log[0]).toMatch(/^warn: not discovering keys .*--insecure-options=pubkey/);
  });

  it('an http key URL is skipped with a warning unless --insecure-options=pubkey', async () => {
    const httpKey = 'http://example.com/k.gpg';
    const h = hooks();
    expect(await discoverAndTrustKeys(fakeHttp(served(httpKey)), globals({ trustKeysFromHttps: true }), NAME, h)).toBe('none-trusted');
    expect(h.log).toContain(`warn: not fetching key "${httpKey}": --insecure-options=pubkey required for http URLs`);
    // Allowed, it is fetched, but --trust-keys-from-https does not cover it: it needs a review.
    const e = await rejection(discoverAndTrustKeys(fakeHttp(served(httpKey)), globals({ trustKeysFromHttps: true, insecure: 'pubkey' }), NAME, hooks()));
    expect(e.message).toContain('lack of tty');
  });

  it('keys named by a discovery page that came over http are not auto-accepted, even from https URLs', async () => {
    const table: Record<string, Answer> = { 'https://example.com?ac-discovery=1': new Error('TLS failure'), 'http://example.com?ac-discovery=1': { status: 200, body: pageWith(KEY_URL) }, [KEY_URL]: { status: 200, body: keyA.armored } };
    for (const u of ['https://example.com/app?ac-discovery=1', 'http://example.com/app?ac-discovery=1']) table[u] = { status: 404 };
    const e = await rejection(discoverAndTrustKeys(fakeHttp(table), globals({ trustKeysFromHttps: true, insecure: 'pubkey,http' }), NAME, hooks()));
    expect(e.message).toContain('lack of tty');
    expect((e as { hint?: string }).hint).toBe(`to trust the key for "${NAME}", run: capsule trust --prefix "${NAME}" (--trust-keys-from-https does not apply: the keys were discovered over http)`);
  });

  it('a key that cannot be downloaded is a warning', async () => {
    const h = hooks();
    const table = served();
    table[KEY_URL] = { status: 500 };
    expect(await discoverAndTrustKeys(fakeHttp(table), globals({ trustKeysFromHttps: true }), NAME, h)).toBe('none-trusted');
    expect(h.log).toContain(`warn: error adding key "${KEY_URL}": bad HTTP status code: 500`);
  });
});
