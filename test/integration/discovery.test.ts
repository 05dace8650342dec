/**
 * Fetching by name through appc meta discovery, with names under `localhost` served by a real
 * HTTPS server on 127.0.0.1:443 (the only file that binds 443, so runs never collide): image and
 * signature URLs from the `ac-discovery` template, keys from `ac-discovery-pubkeys`, walking up
 * the name, name and label checks after download, dependencies, and `trust --prefix` discovery.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { serveFile, startServer, status, type TestServer } from '../helpers/https-server.js';
import { rawTar } from '../helpers/images.js';
import { expectedId, key64, listJson } from '../helpers/store-check.js';
import { testCa } from '../helpers/test-ca.js';
import { expectFetched, expectFetchFailed, expectNothingStored, remoteWorld, serveImage, signBytes, signedImage, SIGNER_UID, type SignedImage } from './remote-fixtures.js';

const ca = testCa();
let server: TestServer | undefined;
try {
  server = await startServer({ tls: ca.server, port: 443 });
} catch (e) {
  ca.cleanup(); // skipped suites run no hooks
  process.stderr.write(`discovery tests skipped: cannot listen on 127.0.0.1:443 (${e instanceof Error ? e.message : String(e)})\n`);
}

/** appc's name for the host architecture, written out here rather than taken from src/. */
const ARCH = ({ x64: 'amd64', arm64: 'aarch64', ia32: 'i386' } as Record<string, string>)[process.arch] ?? process.arch;
const TEMPLATE = 'https://localhost/images/{name}-{version}-{os}-{arch}.{ext}';

let gpg: GpgHome;
let fpr: string;
let scratch: string;
const worlds: World[] = [];
const s = (): TestServer => server!;

const page = (prefix: string, o: { template?: string; keys?: string } = {}): string =>
  `<!DOCTYPE html><html><head>
<meta name="ac-discovery" content="${prefix} ${o.template ?? TEMPLATE}">
${o.keys === undefined ? '' : `<meta name="ac-discovery-pubkeys" content="${prefix} ${o.keys}">`}
</head><body>capsule test</body></html>`;

/** A signed image named `name` with version/os/arch labels (and more manifest fields). */
function named(name: string, version: string, extra: Record<string, unknown> = {}): SignedImage {
  const labels = [
    { name: 'version', value: version },
    { name: 'os', value: 'linux' },
    { name: 'arch', value: ARCH },
  ];
  return signedImage(gpg, scratch, fpr, name, [{ path: `rootfs/${name.replace(/\W/g, '_')}`, body: `${name} ${version}\n` }], { labels, ...extra });
}

/** Serves `img` where the template puts `name` at `version`. */
const serveAt = (name: string, version: string, img: SignedImage): string => serveImage(s(), `/images/${name}-${version}-linux-${ARCH}.aci`, img);

/** A world trusting the CA; the signing key for `trustPrefix` (none when null). */
function world(trustPrefix: string | null = 'localhost'): World {
  const w = remoteWorld(ca, gpg, fpr, { trustPrefix });
  worlds.push(w);
  return w;
}

/** `path?query status` of every request, in arrival order. */
const requests = (): string[] => s().log.map((e) => `${e.url} ${e.status}`);


let app: SignedImage;

beforeAll(() => {
  if (!server) return;
  gpg = makeGpgHome();
  fpr = gpg.genKey(SIGNER_UID);
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-discovery-'));
  const pub = gpg.gpg(['--armor', '--export', fpr]);
  s().route('/pubkeys.gpg', serveFile(Buffer.from(pub)));
  s().route('/app', serveFile(Buffer.from(page('localhost/app', { keys: 'https://localhost/pubkeys.gpg' }))));
  app = named('localhost/app', '1.0.0');
  serveAt('localhost/app', '1.0.0', app);
  serveAt('localhost/app', 'latest', app);
});

afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
  if (server) server.log.length = 0;
});

afterAll(async () => {
  await server?.close();
  gpg?.cleanup();
  ca.cleanup();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe.skipIf(!server)('fetch by name', () => {
  it('name:version → discovery page → rendered image and signature URLs → stored image', async () => {
    const w = world('localhost/app');
    const r = await w.run(['fetch', 'localhost/app:1.0.0']);
    await expectFetched(w, r, app);
    const img = `/images/localhost/app-1.0.0-linux-${ARCH}.aci`;
    expect(requests()[0]).toBe('/app?ac-discovery=1 200');
    expect(requests().slice(1).sort()).toEqual([`${img} 200`, `${img}.asc 200`]);
    expect(s().log.map((e) => e.headers.host)).toEqual(['localhost', 'localhost', 'localhost']);
  });

  it('without a version the template gets "latest"', async () => {
    const w = world();
    await expectFetched(w, await w.run(['fetch', 'localhost/app']), app);
    expect(requests()).toContain(`/images/localhost/app-latest-linux-${ARCH}.aci 200`);
  });

  it('walks up the name: localhost/org/app is answered by the page at localhost/org', async () => {
    const w = world();
    s().route('/org', serveFile(Buffer.from(page('localhost/org'))));
    const img = named('localhost/org/app', '2.1');
    serveAt('localhost/org/app', '2.1', img);
    await expectFetched(w, await w.run(['fetch', 'localhost/org/app:2.1']), img);
    expect(requests().slice(0, 2)).toEqual(['/org/app?ac-discovery=1 404', '/org?ac-discovery=1 200']);
  });

  it('a name nobody answers for: discovery fails in one line, nothing stored', async () => {
    const w = world();
    const r = await w.run(['fetch', 'localhost/nobody/here:1']);
    await expectFetchFailed(w, r, /discovery failed for "localhost\/nobody\/here"/);
    expect(requests()).toEqual(['/nobody/here?ac-discovery=1 404', '/nobody?ac-discovery=1 404', '/?ac-discovery=1 404']);
  });

  it('the fetched manifest must carry the requested name', async () => {
    const w = world();
    s().route('/mismatch', serveFile(Buffer.from(page('localhost/mismatch'))));
    serveAt('localhost/mismatch', '1.0.0', named('localhost/other', '1.0.0'));
    const r = await w.run(['fetch', 'localhost/mismatch:1.0.0']);
    await expectFetchFailed(w, r, /error when reading the app name: "localhost\/mismatch" expected but "localhost\/other" found/);
  });

  it('requested labels must match the fetched manifest', async () => {
    const w = world();
    serveAt('localhost/app', '2.0', app); // a server that answers 2.0 with the 1.0.0 image
    const r = await w.run(['fetch', 'localhost/app:2.0']);
    await expectFetchFailed(w, r, /requested value for label "version": "2\.0" differs from fetched aci label value: "1\.0\.0"/);
  });

  it('dependencies named in the manifest are discovered and fetched the same way', async () => {
    const w = world();
    s().route('/base', serveFile(Buffer.from(page('localhost/base'))));
    s().route('/withdep', serveFile(Buffer.from(page('localhost/withdep'))));
    const base = named('localhost/base', '3.0');
    serveAt('localhost/base', '3.0', base);
    const top = named('localhost/withdep', '1.0', { dependencies: [{ imageName: 'localhost/base', labels: [{ name: 'version', value: '3.0' }] }] });
    serveAt('localhost/withdep', '1.0', top);
    const r = await w.run(['fetch', 'localhost/withdep:1.0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${top.short}\n`);
    expect((await listJson(w)).map((i) => [i.id, i.name]).sort()).toEqual([
      [key64(base.id), 'localhost/base:3.0'],
      [key64(top.id), 'localhost/withdep:1.0'],
    ].sort());
    expect(requests()).toContain('/base?ac-discovery=1 200');
    expect(requests()).toContain(`/images/localhost/base-3.0-linux-${ARCH}.aci 200`);
  });

  it('a dependency needs no os/arch labels, but it cannot be fetched or run as an app itself', async () => {
    const w = world();
    s().route('/data', serveFile(Buffer.from(page('localhost/data'))));
    s().route('/usesdata', serveFile(Buffer.from(page('localhost/usesdata'))));
    // A data-only image: appc reads no os/arch labels as "independent of the platform".
    const manifest = JSON.stringify({ acKind: 'ImageManifest', acVersion: '0.8.11', name: 'localhost/data', labels: [{ name: 'version', value: '1.0' }], app: { exec: ['/bin/true'], user: '0', group: '0' } });
    const aci = rawTar([{ path: 'rootfs/', type: 'Directory' }, { path: 'rootfs/data', body: 'shared\n' }, { path: 'manifest', body: manifest }], { gzip: true });
    const data: SignedImage = { name: 'localhost/data', aci, asc: signBytes(gpg, scratch, aci, fpr), id: expectedId(aci), short: expectedId(aci).slice(0, 'sha512-'.length + 32) };
    serveAt('localhost/data', '1.0', data);
    const top = named('localhost/usesdata', '1.0', { dependencies: [{ imageName: 'localhost/data', labels: [{ name: 'version', value: '1.0' }] }] });
    serveAt('localhost/usesdata', '1.0', top);
    const own = await w.run(['fetch', '--pull-policy=update', 'localhost/data:1.0']);
    expect(own.code, own.stderr).toBe(254);
    expect(errorLines(own).at(-1)).toMatch(/^fetch: .*missing os label in the image manifest$/);
    const r = await w.run(['fetch', 'localhost/usesdata:1.0']);
    expect(r.code, r.stderr).toBe(0);
    expect((await listJson(w)).map((i) => i.name).sort()).toEqual(['localhost/data:1.0', 'localhost/usesdata:1.0']);
    if (process.getuid?.() === 0) {
      // In the store by ID, it is still no app image for this host (rkt checks at run).
      const run = await w.run(['run', data.short]);
      expect(run.code, run.stderr).toBe(254);
      expect(errorLines(run)).toEqual([expect.stringMatching(/^run: .*missing os label in the image manifest$/)]);
    }
  });

  it('--pull-policy=never by name uses only the store', async () => {
    const w = world();
    const miss = await w.run(['fetch', '--pull-policy=never', 'localhost/app:1.0.0']);
    await expectFetchFailed(w, miss, /unable to fetch image from image name "localhost\/app:1\.0\.0"/);
    expect(s().log).toEqual([]);
    await expectFetched(w, await w.run(['fetch', 'localhost/app:1.0.0']), app);
    s().log.length = 0;
    const hit = await w.run(['fetch', '--pull-policy=never', 'localhost/app:1.0.0']);
    expect(hit.code, hit.stderr).toBe(0);
    expect(hit.stdout).toBe(`${app.short}\n`);
    expect(s().log).toEqual([]);
  });

  it('a failing discovery for an image already in the store suggests --pull-policy=never', async () => {
    const w = world();
    await expectFetched(w, await w.run(['fetch', 'localhost/app:1.0.0']), app);
    // The discovery page goes away; --pull-policy=update asks the network again.
    s().route('/app', status(503, 'down\n'));
    try {
      const r = await w.run(['fetch', '--pull-policy=update', 'localhost/app:1.0.0']);
      expect(r.code).toBe(254);
      const lines = errorLines(r);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^fetch: unable to fetch image from image name "localhost\/app:1\.0\.0": .*discovery/);
      expect(lines[0]).toMatch(new RegExp(`\\(the store has localhost/app:1\\.0\\.0 \\(${app.short.slice(0, 19)}\\): --pull-policy=never uses it without asking the network\\)$`));
      const never = await w.run(['fetch', '--pull-policy=never', 'localhost/app:1.0.0']);
      expect(never.stdout).toBe(`${app.short}\n`);
      // Not in the store: no such hint.
      const other = await w.run(['fetch', '--pull-policy=update', 'localhost/app:2.0.0']);
      expect(other.code).toBe(254);
      expect(other.stderr).not.toContain('--pull-policy=never');
    } finally {
      s().route('/app', serveFile(Buffer.from(page('localhost/app', { keys: 'https://localhost/pubkeys.gpg' }))));
    }
  });
});

describe.skipIf(!server)('keys from ac-discovery-pubkeys', () => {
  const keyFile = (w: World, prefix: string): string => path.join(w.localConfig, 'trustedkeys', 'prefix.d', ...prefix.split('/'), fpr.toLowerCase());

  it('--trust-keys-from-https: the discovered key is trusted for the name, then the image verifies', async () => {
    const w = world(null);
    const r = await w.run(['--trust-keys-from-https', 'fetch', 'localhost/app:1.0.0']);
    await expectFetched(w, r, app);
    expect(r.stderr).toContain('Trusting "https://localhost/pubkeys.gpg" for prefix "localhost/app" without fingerprint review.');
    expect(fs.existsSync(keyFile(w, 'localhost/app'))).toBe(true);
    expect(s().requests('/pubkeys.gpg')).toHaveLength(1);

    s().log.length = 0;
    const again = await w.run(['--trust-keys-from-https', 'fetch', 'localhost/app:1.0.0']);
    expect(again.code, again.stderr).toBe(0);
    expect(s().requests('/pubkeys.gpg')).toEqual([]);
  });

  it('no key trusted, no terminal, no --trust-keys-from-https: refused with a hint, nothing trusted or stored', async () => {
    const w = world(null);
    const r = await w.run(['fetch', 'localhost/app:1.0.0']);
    const line = await expectFetchFailed(w, r, /unable to ask user to review fingerprint due to lack of tty/);
    expect(line).toContain('--trust-keys-from-https');
    expect(line).toContain('capsule trust --prefix "localhost/app"');
    expect(fs.existsSync(keyFile(w, 'localhost/app'))).toBe(false);
    expect(s().requests(`/images/localhost/app-1.0.0-linux-${ARCH}.aci`)).toEqual([]);
  });

  it('a key server that fails leaves the image unverifiable: refused, nothing stored', async () => {
    const w = world(null);
    s().route('/nokey', serveFile(Buffer.from(page('localhost/nokey', { keys: 'https://localhost/missing-key.gpg' }))));
    serveAt('localhost/nokey', '1', named('localhost/nokey', '1'));
    const r = await w.run(['--trust-keys-from-https', 'fetch', 'localhost/nokey:1']);
    const lines = errorLines(r);
    expect(lines[0]).toBe('fetch: warning: error adding key "https://localhost/missing-key.gpg": bad HTTP status code: 404');
    await expectFetchFailed(w, { ...r, stderr: lines.slice(1).join('\n') }, /signature made by a key that is not trusted/);
    expect(s().requests('/missing-key.gpg').map((e) => e.status)).toEqual([404]);
  });

  it('capsule trust --prefix without KEYFILE discovers the key (--trust-keys-from-https accepts it)', async () => {
    const w = world(null);
    const r = await w.run(['--trust-keys-from-https', 'trust', '--prefix', 'localhost/app']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Added key for prefix "localhost/app" at "${keyFile(w, 'localhost/app')}"`);
    expect(fs.readFileSync(keyFile(w, 'localhost/app'), 'utf8')).toContain('BEGIN PGP PUBLIC KEY BLOCK');
    expect(requests()).toEqual(['/app?ac-discovery=1 200', '/pubkeys.gpg 200']);
    await expectNothingStored(w);
  });

  it('capsule trust --prefix without KEYFILE and without a terminal asks for review: refused', async () => {
    const w = world(null);
    const r = await w.run(['trust', '--prefix', 'localhost/app']);
    expect(r.code).toBe(254);
    const lines = errorLines(r).filter((l) => l.startsWith('trust: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('unable to ask user to review fingerprint due to lack of tty');
    expect(fs.existsSync(path.join(w.localConfig, 'trustedkeys'))).toBe(false);
  });

  it('trust --prefix for a prefix without ac-discovery-pubkeys: error determining key location', async () => {
    const w = world(null);
    s().route('/keyless', status(200, page('localhost/keyless')));
    const r = await w.run(['--trust-keys-from-https', 'trust', '--prefix', 'localhost/keyless']);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
    expect(r.stderr).toMatch(/^trust: error determining key location/);
  });
});
