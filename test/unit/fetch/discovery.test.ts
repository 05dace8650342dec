import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveGlobalOptions } from '../../../src/config/global-options.js';
import {
  discoverEndpoints,
  discoverPubkeyLocations,
  discoverPubkeys,
  discoveryPrefixes,
  endpointsFromMeta,
  parseDiscoveryMeta,
  pubkeysFromMeta,
  renderTemplate,
  type HttpGetter,
} from '../../../src/fetch/discovery.js';
import type { HttpResponse } from '../../../src/fetch/http-client.js';
import { insecureTlsWarning, makeHttpClient } from '../../../src/fetch/http-setup.js';
import { hostOsArch } from '../../../src/spec/os-arch.js';

const LINUX_AMD64 = { os: 'linux', arch: 'amd64' };

/** A page with the given `<meta>` tags, shaped like appc's discovery/testdata pages. */
function page(...tags: [kind: string, content: string][]): string {
  const metas = tags.map(([k, c]) => `\t<meta name="${k}" content="${c}">`).join('\n');
  return `<!DOCTYPE html>\n<html>\n<head>\n\t<title>My app</title>\n${metas}\n</head>\n<body><h1>My App</h1></body>\n</html>\n`;
}

const TEMPLATE = 'https://storage.example.com/{name}-{version}-{os}-{arch}.{ext}';
const KEYS = 'https://example.com/pubkeys.gpg';
// The shapes of appc's meta01…meta06 fixtures.
const BOTH = page(['ac-discovery', `example.com ${TEMPLATE}`], ['ac-discovery-pubkeys', `example.com ${KEYS}`]);
const ONLY_DISCOVERY = page(['ac-discovery', `example.com ${TEMPLATE}`]);
const ONLY_PUBKEYS = page(['ac-discovery-pubkeys', `example.com ${KEYS}`]);
const OTHER_STORAGE = page(['ac-discovery', 'example.com https://other-storage.example.com/{os}/{arch}/{name}-{version}.{ext}'], ['ac-discovery-pubkeys', `example.com ${KEYS}`]);
const WITH_AND_WITHOUT_OS_ARCH = page(['ac-discovery', `example.com ${TEMPLATE}`], ['ac-discovery', 'example.com https://storage.example.com/{name}-{version}.{ext}'], ['ac-discovery-pubkeys', `example.com ${KEYS}`]);
const THREE_SCHEMES = page(
  ['ac-discovery', 'example.com hdfs://storage.example.com/{name}-{version}-{os}-{arch}.{ext}'],
  ['ac-discovery', 'example.com http://plain.example.com/{name}-{version}-{os}-{arch}.{ext}'],
  ['ac-discovery', `example.com ${TEMPLATE}`],
);

describe('parseDiscoveryMeta', () => {
  it('reads both kinds of tag in document order', () => {
    expect(parseDiscoveryMeta(BOTH)).toEqual([
      { kind: 'ac-discovery', prefix: 'example.com', url: TEMPLATE },
      { kind: 'ac-discovery-pubkeys', prefix: 'example.com', url: KEYS },
    ]);
    expect(parseDiscoveryMeta(ONLY_PUBKEYS)).toEqual([{ kind: 'ac-discovery-pubkeys', prefix: 'example.com', url: KEYS }]);
  });

  it.each([
    ['content before name', `<meta content="example.com ${KEYS}" name="ac-discovery-pubkeys">`],
    ['self-closing', `<meta name="ac-discovery-pubkeys" content="example.com ${KEYS}"/>`],
    ['self-closing with a space', `<meta name="ac-discovery-pubkeys" content="example.com ${KEYS}" />`],
    ['single quotes', `<meta name='ac-discovery-pubkeys' content='example.com ${KEYS}'>`],
    ['unquoted name', `<meta name=ac-discovery-pubkeys content="example.com ${KEYS}">`],
    ['upper-case tag and attribute names', `<META NAME="ac-discovery-pubkeys" Content="example.com ${KEYS}">`],
    ['spaces around =, line breaks between attributes', `<meta\n  name = "ac-discovery-pubkeys"\n\tcontent= "example.com ${KEYS}"\n>`],
    ['other attributes around', `<meta data-x="1" name="ac-discovery-pubkeys" lang=en content="example.com ${KEYS}" data-y>`],
    ['several spaces, tabs and a line break inside content', `<meta name="ac-discovery-pubkeys" content="  example.com \t\n ${KEYS}  ">`],
    ['in the body, not the head', `<html><body><p>x</p><meta name="ac-discovery-pubkeys" content="example.com ${KEYS}"></body>`],
    ['">" inside a quoted value', `<meta title="a > b" name="ac-discovery-pubkeys" content="example.com ${KEYS}">`],
  ])('accepts a tag with %s', (_what, html) => {
    expect(parseDiscoveryMeta(html)).toEqual([{ kind: 'ac-discovery-pubkeys', prefix: 'example.com', url: KEYS }]);
  });

  it.each([
    ['content without a URL', '<meta name="ac-discovery" content="example.com">'],
    ['empty content', '<meta name="ac-discovery" content="">'],
    ['no content', '<meta name="ac-discovery">'],
    ['three words', `<meta name="ac-discovery" content="example.com ${TEMPLATE} extra">`],
    ['another ac- name', `<meta name="ac-discovery-keys" content="example.com ${KEYS}">`],
    ['a different case in the name value', `<meta name="AC-Discovery" content="example.com ${TEMPLATE}">`],
    ['go-import', '<meta name="go-import" content="example.com git https://example.com/repo">'],
    ['a metadata tag', `<metadata name="ac-discovery" content="example.com ${TEMPLATE}">`],
    ['an HTML comment', `<!-- <meta name="ac-discovery" content="example.com ${TEMPLATE}"> -->`],
    ['a script', `<script>var s = '<meta name="ac-discovery" content="example.com ${TEMPLATE}">';</script>`],
    ['a tag the page ends inside', `<meta name="ac-discovery" content="example.com ${TEMPLATE}"`],
    ['an unterminated quote', `<meta name="ac-discovery" content="example.com ${TEMPLATE}>`],
  ])('ignores %s', (_what, html) => {
    expect(parseDiscoveryMeta(html)).toEqual([]);
  });

  it('keeps reading after ignored tags, comments and scripts', () => {
    const html = `<meta name="ac-discovery" content="only-prefix"><!-- c --><script>x<y</script><meta name="ac-discovery-pubkeys" content="example.com ${KEYS}">`;
    expect(parseDiscoveryMeta(html)).toEqual([{ kind: 'ac-discovery-pubkeys', prefix: 'example.com', url: KEYS }]);
  });

  it('finds tags after text whose lower case is longer (İ)', () => {
    expect(parseDiscoveryMeta(`<title>${'İ'.repeat(8)}</title><META name="ac-discovery-pubkeys" content="example.com ${KEYS}">`)).toEqual([{ kind: 'ac-discovery-pubkeys', prefix: 'example.com', url: KEYS }]);
  });

  it('takes the first of duplicate attributes, as HTML does', () => {
    const html = `<meta name="ac-discovery-pubkeys" content="example.com ${KEYS}" content="evil.com https://evil.com/k">`;
    expect(parseDiscoveryMeta(html)).toEqual([{ kind: 'ac-discovery-pubkeys', prefix: 'example.com', url: KEYS }]);
  });

  it('decodes character references in values', () => {
    const html = '<meta name="ac-discovery" content="example.com https://s.example.com/get?n={name}&amp;v={version}&#38;e={ext}&#x26;x=&lt;">';
    expect(parseDiscoveryMeta(html)[0]?.url).toBe('https://s.example.com/get?n={name}&v={version}&e={ext}&x=<');
  });

  it('reads a hostile 1 MiB page in linear time', () => {
    const pages = ['<meta a="b" '.repeat(95_000), '<meta x=1>'.repeat(104_000), '<!--'.repeat(260_000), `${'<'.repeat(500_000)}${'<meta '.repeat(100_000)}`];
    for (const p of pages) {
      const t = process.hrtime.bigint();
      expect(parseDiscoveryMeta(p)).toEqual([]);
      expect(Number(process.hrtime.bigint() - t) / 1e6).toBeLessThan(1000);
    }
  });
});

describe('renderTemplate', () => {
  const labels = { version: '1.0.0', os: 'linux', arch: 'amd64' };

  it('renders {name}, {version}, {os}, {arch} and {ext} literally', () => {
    expect(renderTemplate(TEMPLATE, 'example.com/myapp', labels, 'aci')).toBe('https://storage.example.com/example.com/myapp-1.0.0-linux-amd64.aci');
    expect(renderTemplate(TEMPLATE, 'example.com/myapp', labels, 'aci.asc')).toBe('https://storage.example.com/example.com/myapp-1.0.0-linux-amd64.aci.asc');
  });

  it('defaults version to "latest" and os/arch to the host', () => {
    expect(renderTemplate(TEMPLATE, 'example.com/myapp', {}, 'aci', { os: 'freebsd', arch: 'arm' })).toBe('https://storage.example.com/example.com/myapp-latest-freebsd-arm.aci');
    const h = hostOsArch();
    expect(renderTemplate(TEMPLATE, 'example.com/myapp', {}, 'aci')).toBe(`https://storage.example.com/example.com/myapp-latest-${h.os}-${h.arch}.aci`);
    expect(renderTemplate(TEMPLATE, 'example.com/myapp', { version: '' }, 'aci', LINUX_AMD64)).toBe('https://storage.example.com/example.com/myapp-latest-linux-amd64.aci');
  });

  it('labels override the defaults', () => {
    expect(renderTemplate('https://s/{os}/{arch}/{version}', 'a', { os: 'linux', arch: 'aarch64', version: '2' }, 'aci', LINUX_AMD64)).toBe('https://s/linux/aarch64/2');
  });

  it('renders any other label, and skips the template when it is not given', () => {
    const t = 'https://s.example.com/{channel}/{name}.{ext}';
    expect(renderTemplate(t, 'example.com/app', { channel: 'beta' }, 'aci')).toBe('https://s.example.com/beta/example.com/app.aci');
    expect(renderTemplate(t, 'example.com/app', {}, 'aci')).toBeUndefined();
  });

  it('a label called "name" or "ext" does not override the name or the extension', () => {
    expect(renderTemplate('https://s/{name}.{ext}', 'example.com/app', { name: 'labelcalledname', ext: 'zip' }, 'aci')).toBe('https://s/example.com/app.aci');
  });

  it('substitutes once: a value holding a {variable} is not expanded, and the template is skipped', () => {
    expect(renderTemplate('https://s/{name}-{version}.{ext}', 'a', { version: '{name}' }, 'aci')).toBeUndefined();
    expect(renderTemplate('https://s/{name}-{version}.{ext}', 'a', { version: '{ext}' }, 'aci')).toBeUndefined();
  });

  it('skips a template with any brace pair left, even an empty or nested one', () => {
    expect(renderTemplate('https://s/{name}{}.{ext}', 'a', {}, 'aci')).toBeUndefined();
    expect(renderTemplate('https://s/{{name}}.{ext}', 'a', {}, 'aci')).toBeUndefined();
    expect(renderTemplate('https://s/{name.{ext}', 'a', {}, 'aci')).toBe('https://s/{name.aci');
  });
});

describe('discoveryPrefixes', () => {
  it('walks up the name, nearest first', () => {
    expect(discoveryPrefixes('example.com/myapp/foobar')).toEqual(['example.com/myapp/foobar', 'example.com/myapp', 'example.com']);
    expect(discoveryPrefixes('example.com')).toEqual(['example.com']);
  });
});

describe('endpointsFromMeta / pubkeysFromMeta', () => {
  const labels = { version: '1.0.0', os: 'linux', arch: 'amd64' };
  const eps = (html: string, name: string, l: Record<string, string>, allowHttp = false): unknown => endpointsFromMeta(parseDiscoveryMeta(html), name, l, { allowHttp, host: LINUX_AMD64 });

  it('both tags: one endpoint and the keys', () => {
    expect(eps(BOTH, 'example.com/myapp', labels)).toEqual([
      { aci: 'https://storage.example.com/example.com/myapp-1.0.0-linux-amd64.aci', asc: 'https://storage.example.com/example.com/myapp-1.0.0-linux-amd64.aci.asc' },
    ]);
    expect(pubkeysFromMeta(parseDiscoveryMeta(BOTH), 'example.com/myapp')).toEqual([KEYS]);
  });

  it('only one kind of tag: nothing of the other', () => {
    expect(eps(ONLY_PUBKEYS, 'example.com/myapp', labels)).toEqual([]);
    expect(pubkeysFromMeta(parseDiscoveryMeta(ONLY_DISCOVERY), 'example.com/myapp')).toEqual([]);
  });

  it('another storage host with {os}/{arch} in the path', () => {
    expect(eps(OTHER_STORAGE, 'example.com/reduce-worker', labels)).toEqual([
      { aci: 'https://other-storage.example.com/linux/amd64/example.com/reduce-worker-1.0.0.aci', asc: 'https://other-storage.example.com/linux/amd64/example.com/reduce-worker-1.0.0.aci.asc' },
    ]);
  });

  it('two templates, with and without os/arch: both render (os/arch default to the host), in document order', () => {
    expect(eps(WITH_AND_WITHOUT_OS_ARCH, 'example.com/myapp', { version: '1.0.0' })).toEqual([
      { aci: 'https://storage.example.com/example.com/myapp-1.0.0-linux-amd64.aci', asc: 'https://storage.example.com/example.com/myapp-1.0.0-linux-amd64.aci.asc' },
      { aci: 'https://storage.example.com/example.com/myapp-1.0.0.aci', asc: 'https://storage.example.com/example.com/myapp-1.0.0.aci.asc' },
    ]);
    expect(eps(WITH_AND_WITHOUT_OS_ARCH, 'example.com/myapp', {})).toEqual([
      { aci: 'https://storage.example.com/example.com/myapp-latest-linux-amd64.aci', asc: 'https://storage.example.com/example.com/myapp-latest-linux-amd64.aci.asc' },
      { aci: 'https://storage.example.com/example.com/myapp-latest.aci', asc: 'https://storage.example.com/example.com/myapp-latest.aci.asc' },
    ]);
  });

  it('an unrenderable template is skipped, the others kept', () => {
    const html = page(['ac-discovery', 'example.com https://s.example.com/{channel}/{name}.{ext}'], ['ac-discovery', 'example.com https://s.example.com/{name}.{ext}']);
    expect(eps(html, 'example.com/myapp', {})).toEqual([{ aci: 'https://s.example.com/example.com/myapp.aci', asc: 'https://s.example.com/example.com/myapp.aci.asc' }]);
  });

  it('keeps hdfs:// and other schemes out; http:// only when allowed', () => {
    const https = { aci: 'https://storage.example.com/example.com/myapp-1.0.0-linux-amd64.aci', asc: 'https://storage.example.com/example.com/myapp-1.0.0-linux-amd64.aci.asc' };
    const http = { aci: 'http://plain.example.com/example.com/myapp-1.0.0-linux-amd64.aci', asc: 'http://plain.example.com/example.com/myapp-1.0.0-linux-amd64.aci.asc' };
    expect(eps(THREE_SCHEMES, 'example.com/myapp', labels)).toEqual([https]);
    expect(eps(THREE_SCHEMES, 'example.com/myapp', labels, true)).toEqual([http, https]);
    const keys = page(['ac-discovery-pubkeys', 'example.com ftp://example.com/k.gpg'], ['ac-discovery-pubkeys', 'example.com http://example.com/k.gpg'], ['ac-discovery-pubkeys', `example.com ${KEYS}`]);
    expect(pubkeysFromMeta(parseDiscoveryMeta(keys), 'example.com')).toEqual(['http://example.com/k.gpg', KEYS]);
  });

  it('a template that renders to something that is not a URL is left out', () => {
    expect(eps(page(['ac-discovery', 'example.com {name}.{ext}']), 'example.com/myapp', {})).toEqual([]);
  });

  it('matches prefixes by whole path segments (deviation: the reference tests string prefixes)', () => {
    const tag = (prefix: string): string => page(['ac-discovery', `${prefix} https://s.example.com/{name}.{ext}`], ['ac-discovery-pubkeys', `${prefix} ${KEYS}`]);
    const covered = (prefix: string, name: string): [boolean, boolean] => [
      (endpointsFromMeta(parseDiscoveryMeta(tag(prefix)), name, {}) as unknown[]).length > 0,
      pubkeysFromMeta(parseDiscoveryMeta(tag(prefix)), name).length > 0,
    ];
    expect(covered('example.com', 'example.com/myapp')).toEqual([true, true]);
    expect(covered('example.com/myapp', 'example.com/myapp')).toEqual([true, true]);
    expect(covered('example.com/', 'example.com/myapp')).toEqual([true, true]);
    expect(covered('example.com', 'example.commerce/myapp')).toEqual([false, false]);
    expect(covered('example.com/my', 'example.com/myapp')).toEqual([false, false]);
    expect(covered('example.com/myapp/sub', 'example.com/myapp')).toEqual([false, false]);
    expect(covered('evil.com', 'example.com/myapp')).toEqual([false, false]);
  });
});

type Answer = { status: number; body?: string } | Error;

/** A fake HttpGetter answering from a table (404 for anything else) and recording every URL asked. */
function fakeHttp(table: Record<string, Answer>): HttpGetter & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    get: (url: string) => {
      asked.push(url);
      const a = table[url] ?? { status: 404, body: 'not found' };
      if (a instanceof Error) return Promise.reject(a);
      const body = Buffer.from(a.body ?? '');
      const res: HttpResponse = {
        status: a.status,
        headers: { 'content-type': 'text/html' },
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

const d = (prefix: string, scheme = 'https'): string => `${scheme}://${prefix}?ac-discovery=1`;
const ENDPOINT = { aci: 'https://storage.example.com/example.com/myapp-1.0.0-linux-amd64.aci', asc: 'https://storage.example.com/example.com/myapp-1.0.0-linux-amd64.aci.asc' };
const LABELS = { version: '1.0.0', os: 'linux', arch: 'amd64' };

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected discovery to fail');
}

describe('discoverEndpoints / discoverPubkeys (fake HTTP)', () => {
  it('finds both on the name\'s own page', async () => {
    const http = fakeHttp({ [d('example.com/myapp')]: { status: 200, body: BOTH } });
    expect(await discoverEndpoints(http, 'example.com/myapp', LABELS)).toEqual({ aci: [ENDPOINT] });
    expect(await discoverPubkeys(http, 'example.com/myapp')).toEqual([KEYS]);
    expect(http.asked).toEqual([d('example.com/myapp'), d('example.com/myapp')]);
  });

  it('walks up to a parent page, rendering the full name', async () => {
    const http = fakeHttp({ [d('example.com')]: { status: 200, body: BOTH } });
    expect(await discoverEndpoints(http, 'example.com/myapp/foobar', LABELS)).toEqual({
      aci: [{ aci: 'https://storage.example.com/example.com/myapp/foobar-1.0.0-linux-amd64.aci', asc: 'https://storage.example.com/example.com/myapp/foobar-1.0.0-linux-amd64.aci.asc' }],
    });
    expect(http.asked).toEqual([d('example.com/myapp/foobar'), d('example.com/myapp'), d('example.com')]);
  });

  it('endpoints and keys walk independently: templates from /myapp, keys from /', async () => {
    const http = fakeHttp({ [d('example.com/myapp')]: { status: 200, body: ONLY_DISCOVERY }, [d('example.com')]: { status: 200, body: ONLY_PUBKEYS } });
    expect(await discoverEndpoints(http, 'example.com/myapp', LABELS)).toEqual({ aci: [ENDPOINT] });
    expect(http.asked).toEqual([d('example.com/myapp')]);
    expect(await discoverPubkeyLocations(http, 'example.com/myapp')).toEqual({ keys: [KEYS], page: d('example.com') });
    expect(http.asked).toEqual([d('example.com/myapp'), d('example.com/myapp'), d('example.com')]);
  });

  it('stops at the nearest level that has templates, ignoring a parent\'s', async () => {
    const parent = page(['ac-discovery', 'example.com https://parent.example.com/{name}.{ext}']);
    const http = fakeHttp({ [d('example.com/myapp')]: { status: 200, body: ONLY_DISCOVERY }, [d('example.com')]: { status: 200, body: parent } });
    expect(await discoverEndpoints(http, 'example.com/myapp', LABELS)).toEqual({ aci: [ENDPOINT] });
  });

  it('goes on past network errors, 5xx, 4xx, 204, pages without tags and pages with only unusable templates', async () => {
    const hdfsOnly = page(['ac-discovery', 'example.com hdfs://s/{name}.{ext}']);
    const http = fakeHttp({
      [d('example.com/a/b/c/d/e/f')]: new Error('connect ECONNREFUSED 127.0.0.1:443'),
      [d('example.com/a/b/c/d/e')]: { status: 503 },
      [d('example.com/a/b/c/d')]: { status: 204 },
      [d('example.com/a/b/c')]: { status: 200, body: '<html>no tags</html>' },
      [d('example.com/a/b')]: { status: 200, body: hdfsOnly },
      [d('example.com/a')]: { status: 200, body: page(['ac-discovery', 'other.org https://s/{name}.{ext}']) },
      [d('example.com')]: { status: 200, body: ONLY_DISCOVERY },
    });
    const r = await discoverEndpoints(http, 'example.com/a/b/c/d/e/f', {});
    expect(r.aci).toHaveLength(1);
    expect(http.asked).toHaveLength(7);
  });

  it('fails listing every level tried and why, nearest first', async () => {
    const http = fakeHttp({
      [d('example.com/myapp/foobar')]: new Error('getaddrinfo ENOTFOUND example.com'),
      [d('example.com')]: { status: 200, body: ONLY_PUBKEYS },
    });
    const msg = await failure(discoverEndpoints(http, 'example.com/myapp/foobar', LABELS));
    expect(msg).toBe(
      `discovery failed for "example.com/myapp/foobar": no ac-discovery found; tried ${d('example.com/myapp/foobar')} (getaddrinfo ENOTFOUND example.com), ${d('example.com/myapp')} (HTTP 404), ${d('example.com')} (no ac-discovery tag)`,
    );
  });

  it('keys: fails when no level names keys, saying so', async () => {
    const http = fakeHttp({ [d('example.com')]: { status: 200, body: ONLY_DISCOVERY } });
    const msg = await failure(discoverPubkeys(http, 'example.com/myapp'));
    expect(msg).toMatch(/^discovery failed for "example\.com\/myapp": no ac-discovery-pubkeys found; tried /);
    expect(msg).toContain(`${d('example.com')} (no ac-discovery-pubkeys tag)`);
  });

  it('reports the innermost cause of a wrapped network error', async () => {
    const http = fakeHttp({ [d('example.com')]: new Error('GET https://example.com?ac-discovery=1', { cause: new Error('self-signed certificate') }) });
    expect(await failure(discoverPubkeys(http, 'example.com'))).toContain('(self-signed certificate)');
  });

  it('never asks over http without allowHttp', async () => {
    const http = fakeHttp({ [d('example.com', 'http')]: { status: 200, body: BOTH } });
    await failure(discoverEndpoints(http, 'example.com/myapp', LABELS));
    expect(http.asked.every((u) => u.startsWith('https://'))).toBe(true);
    expect(http.asked).toHaveLength(2);
  });

  it('with allowHttp, retries each failed level over http before walking up', async () => {
    const http = fakeHttp({ [d('example.com/myapp')]: new Error('TLS handshake failed'), [d('example.com/myapp', 'http')]: { status: 200, body: BOTH } });
    expect(await discoverEndpoints(http, 'example.com/myapp', LABELS, { allowHttp: true })).toEqual({ aci: [ENDPOINT] });
    expect(http.asked).toEqual([d('example.com/myapp'), d('example.com/myapp', 'http')]);
    const keys = await discoverPubkeyLocations(http, 'example.com/myapp', { allowHttp: true });
    expect(keys.page).toBe(d('example.com/myapp', 'http'));
  });

  it('with allowHttp, an https page without tags is not asked again over http (only failures are)', async () => {
    const http = fakeHttp({ [d('example.com')]: { status: 200, body: '<html></html>' }, [d('example.com', 'http')]: { status: 200, body: BOTH } });
    const msg = await failure(discoverEndpoints(http, 'example.com', {}, { allowHttp: true }));
    expect(http.asked).toEqual([d('example.com')]);
    expect(msg).toContain('(no ac-discovery tag)');
  });

  it('with allowHttp, lists both attempts of a level in the failure', async () => {
    const http = fakeHttp({});
    const msg = await failure(discoverPubkeys(http, 'example.com', { allowHttp: true }));
    expect(msg).toContain(`${d('example.com')} (HTTP 404), ${d('example.com', 'http')} (HTTP 404)`);
  });

  it('a page over 1 MiB fails its level', async () => {
    const big = BOTH + ' '.repeat(1024 * 1024);
    const http = fakeHttp({ [d('example.com')]: { status: 200, body: big } });
    expect(await failure(discoverPubkeys(http, 'example.com'))).toContain(`${d('example.com')} (the page is larger than 1048576 bytes)`);
  });

  it('refuses a name that is not an AC identifier before asking anything', async () => {
    const http = fakeHttp({});
    expect(await failure(discoverEndpoints(http, 'https://example.com/app', {}))).toMatch(/lower case alphanumeric/);
    expect(http.asked).toEqual([]);
  });

  it('tells debug which levels failed', async () => {
    const lines: string[] = [];
    const http = fakeHttp({ [d('example.com')]: { status: 200, body: BOTH } });
    await discoverPubkeys(http, 'example.com/myapp', { debug: (m) => lines.push(m) });
    expect(lines).toEqual([`meta tag 'ac-discovery-pubkeys' not found on example.com/myapp: ${d('example.com/myapp')} (HTTP 404)`]);
  });
});

describe('over real HTTPS (makeHttpClient: CA from tls.d, credentials from auth.d)', () => {
  let tmp = '';
  let server: https.Server | undefined;
  let port = 0;
  const seen: { url: string; auth: string | undefined }[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-discovery-'));
    const key = path.join(tmp, 'key.pem');
    const cert = path.join(tmp, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1'], { stdio: 'ignore' });
    // The local configuration trusts the certificate (tls.d) and holds a bearer token for localhost (auth.d).
    for (const sub of ['tls.d', 'auth.d']) fs.mkdirSync(path.join(tmp, 'etc', sub), { recursive: true });
    fs.copyFileSync(cert, path.join(tmp, 'etc', 'tls.d', 'test-ca.pem'));
    fs.writeFileSync(path.join(tmp, 'etc', 'auth.d', 'localhost.json'), JSON.stringify({ rktKind: 'auth', rktVersion: 'v1', domains: ['localhost'], type: 'oauth', credentials: { token: 'discovery-token' } }), { mode: 0o600 });
    server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
      seen.push({ url: req.url ?? '', auth: req.headers.authorization });
      if (req.headers.authorization !== 'Bearer discovery-token') {
        res.writeHead(401).end();
      } else if (req.url === '/app?ac-discovery=1') {
        res.writeHead(302, { location: '/pages/app.html' }).end();
      } else if (req.url === '/pages/app.html') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(page(['ac-discovery', 'localhost https://localhost/images/{name}-{version}-{os}-{arch}.{ext}']));
      } else if (req.url === '/?ac-discovery=1') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(page(['ac-discovery-pubkeys', 'localhost https://localhost/pubkeys.gpg']));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    if (server) await new Promise((resolve) => server!.close(resolve));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('follows a redirect, sends the configured token, walks up for keys', async () => {
    const g = resolveGlobalOptions({ localConfig: path.join(tmp, 'etc'), systemConfig: path.join(tmp, 'usr-lib'), dir: path.join(tmp, 'var') });
    expect(insecureTlsWarning(g)).toBeUndefined();
    const client = makeHttpClient(g);
    // Discovery URLs carry no port: point localhost at the test server's.
    const http: HttpGetter = { get: (url, req) => client.get(url.replace(/^https:\/\/localhost(?=[/?])/, `https://localhost:${port}`), req) };
    try {
      expect(await discoverEndpoints(http, 'localhost/app/sub', { version: '1.2' })).toEqual({
        aci: [{ aci: `https://localhost/images/localhost/app/sub-1.2-${hostOsArch().os}-${hostOsArch().arch}.aci`, asc: `https://localhost/images/localhost/app/sub-1.2-${hostOsArch().os}-${hostOsArch().arch}.aci.asc` }],
      });
      expect(await discoverPubkeys(http, 'localhost/app/sub')).toEqual(['https://localhost/pubkeys.gpg']);
    } finally {
      await client.close();
    }
    expect(seen.map((s) => s.url)).toEqual(['/app/sub?ac-discovery=1', '/app?ac-discovery=1', '/pages/app.html', '/app/sub?ac-discovery=1', '/app?ac-discovery=1', '/pages/app.html', '/?ac-discovery=1']);
    expect(seen.every((s) => s.auth === 'Bearer discovery-token')).toBe(true);
  });

  it('without the CA the certificate is refused, and the failure says so', async () => {
    const g = resolveGlobalOptions({ localConfig: path.join(tmp, 'elsewhere'), systemConfig: path.join(tmp, 'usr-lib'), dir: path.join(tmp, 'var') });
    const client = makeHttpClient(g);
    const http: HttpGetter = { get: (url, req) => client.get(url.replace(/^https:\/\/localhost(?=[/?])/, `https://localhost:${port}`), req) };
    try {
      expect(await failure(discoverPubkeys(http, 'localhost'))).toMatch(/discovery failed for "localhost": .*\(self[- ]signed certificate\)/);
    } finally {
      await client.close();
    }
  });
});
