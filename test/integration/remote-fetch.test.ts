/**
 * `capsule fetch https://…/x.aci` against a real HTTPS server on loopback: signatures fetched
 * beside the image (or deferred with 202), redirects (bounded, never to http), plain http only
 * when asked. Every failure: one line, exit 254, nothing stored.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { redirect, sequence, serveFile, startServer, status, type TestServer } from '../helpers/https-server.js';
import { listJson } from '../helpers/store-check.js';
import { testCa, type TestCa } from '../helpers/test-ca.js';
import { expectFetched, expectFetchFailed, remoteWorld, serveImage, signBytes, signedImage, SIGNER_UID, type SignedImage } from './remote-fixtures.js';

let ca: TestCa;
let gpg: GpgHome;
let fpr: string;
let otherFpr: string;
let scratch: string;
let server: TestServer;
let plain: TestServer;
let app: SignedImage;
let other: SignedImage;
const worlds: World[] = [];

/** `METHOD path status` of every request, sorted (the client may ask for image and signature in either order). */
const requests = (s: TestServer): string[] => s.log.map((e) => `${e.method} ${e.path} ${e.status}`).sort();

function world(): World {
  const w = remoteWorld(ca, gpg, fpr);
  worlds.push(w);
  return w;
}

beforeAll(async () => {
  ca = testCa();
  gpg = makeGpgHome();
  fpr = gpg.genKey(SIGNER_UID);
  otherFpr = gpg.genKey('Stranger <stranger@example.com>');
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-remote-'));
  app = signedImage(gpg, scratch, fpr, 'example.com/remote/app', [{ path: 'rootfs/hello', body: 'hello\n' }]);
  other = signedImage(gpg, scratch, fpr, 'example.com/remote/other', [{ path: 'rootfs/other', body: 'other\n' }]);
  server = await startServer({ tls: ca.server });
  plain = await startServer();
});

afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
  server.log.length = 0;
  plain.log.length = 0;
});

afterAll(async () => {
  await server.close();
  await plain.close();
  gpg.cleanup();
  ca.cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('signatures', () => {
  it('fetches the image and URL.asc (one GET each), verifies and stores it', async () => {
    const w = world();
    const url = serveImage(server, '/sig/ok.aci', app);
    const r = await w.run(['fetch', url]);
    await expectFetched(w, r, app);
    expect(requests(server)).toEqual(['GET /sig/ok.aci 200', 'GET /sig/ok.aci.asc 200']);
    expect(errorLines(r)).toEqual(['image: signature verified:', `  ${SIGNER_UID}`]);
  });

  it('--signature FILE is used instead of URL.asc (which is never requested)', async () => {
    const w = world();
    server.route('/sig/local.aci', serveFile(app.aci));
    const sig = path.join(w.base, 'local.aci.asc');
    fs.writeFileSync(sig, app.asc);
    const r = await w.run(['fetch', server.url('/sig/local.aci'), '--signature', sig]);
    await expectFetched(w, r, app);
    expect(server.log.map((e) => e.path)).toEqual(['/sig/local.aci']);
  });

  it('a missing signature (404) is an error naming the status', async () => {
    const w = world();
    server.route('/sig/missing.aci', serveFile(app.aci));
    const r = await w.run(['fetch', server.url('/sig/missing.aci')]);
    await expectFetchFailed(w, r, /signature.*bad HTTP status code: 404/);
  });

  it('a signature made by a key not trusted for the name is refused', async () => {
    const w = world();
    const url = serveImage(server, '/sig/stranger.aci', { ...app, asc: signBytes(gpg, scratch, app.aci, otherFpr) });
    const r = await w.run(['fetch', url]);
    await expectFetchFailed(w, r, /signature|unknown entity|not trusted/i);
  });

  it('a trusted signature over a different image is refused', async () => {
    const w = world();
    const url = serveImage(server, '/sig/swapped.aci', { ...app, asc: other.asc });
    const r = await w.run(['fetch', url]);
    await expectFetchFailed(w, r, /signature/i);
  });

  it('a signature file that is not OpenPGP is refused', async () => {
    const w = world();
    const url = serveImage(server, '/sig/junk.aci', { ...app, asc: Buffer.from('<html>not a signature</html>\n') });
    const r = await w.run(['fetch', url]);
    await expectFetchFailed(w, r, /signature|armor|packet/i);
  });
});

describe('--insecure-options=image', () => {
  it('fetches an unsigned image without asking for a signature, with the warning', async () => {
    const w = world();
    server.route('/unsigned/app.aci', serveFile(app.aci));
    const r = await w.run(['--insecure-options=image', 'fetch', server.url('/unsigned/app.aci')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${app.short}\n`);
    expect(errorLines(r)).toEqual(['fetch: warning: image signature verification has been disabled']);
    expect(requests(server)).toEqual(['GET /unsigned/app.aci 200']);
  });
});

describe('deferred signature (202)', () => {
  it('202 on the signature: image downloaded first, then the signature asked once more', async () => {
    const w = world();
    server.route('/defer/app.aci', serveFile(app.aci));
    server.route('/defer/app.aci.asc', sequence(status(202), serveFile(app.asc)));
    const r = await w.run(['fetch', server.url('/defer/app.aci')]);
    await expectFetched(w, r, app);
    expect(r.stderr).toContain('server requested deferring the signature download');
    expect(requests(server)).toEqual(['GET /defer/app.aci 200', 'GET /defer/app.aci.asc 200', 'GET /defer/app.aci.asc 202']);
    // The second ask comes after the image was requested.
    expect(server.log.findIndex((e) => e.path === '/defer/app.aci')).toBeLessThan(server.log.findLastIndex((e) => e.path === '/defer/app.aci.asc'));
  });

  it('202 twice is an error, and the downloaded image is not kept', async () => {
    const w = world();
    server.route('/defer2/app.aci', serveFile(app.aci));
    server.route('/defer2/app.aci.asc', status(202));
    const r = await w.run(['fetch', server.url('/defer2/app.aci')]);
    // The info line about deferring comes first; the error is the last and only fetch: line.
    const lines = errorLines(r);
    expect(lines[0]).toBe('image: server requested deferring the signature download');
    await expectFetchFailed(w, { ...r, stderr: lines.slice(1).join('\n') }, /deferred the signature .*twice/);
    expect(server.requests('/defer2/app.aci.asc')).toHaveLength(2);
  });

  it('a deferred signature that turns out wrong still stores nothing', async () => {
    const w = world();
    server.route('/defer3/app.aci', serveFile(app.aci));
    server.route('/defer3/app.aci.asc', sequence(status(202), serveFile(other.asc)));
    const r = await w.run(['fetch', server.url('/defer3/app.aci')]);
    const lines = errorLines(r);
    await expectFetchFailed(w, { ...r, stderr: lines.slice(1).join('\n') }, /signature/i);
  });
});

describe('redirects', () => {
  /** `/hops/N/x` redirects to `/hops/N-1/x`; `/hops/0/x` is the file. */
  beforeAll(() => {
    server.route(/^\/hops\/\d+\/app\.aci(\.asc)?$/, (req, res, entry) => {
      const m = /^\/hops\/(\d+)\/(.*)$/.exec(entry.path)!;
      const n = Number(m[1]);
      if (n > 0) return redirect(`/hops/${n - 1}/${m[2]}`)(req, res, entry);
      return serveFile(m[2]!.endsWith('.asc') ? app.asc : app.aci)(req, res, entry);
    });
  });

  it('follows 10 redirects (relative Location) for both signature and image', async () => {
    const w = world();
    const r = await w.run(['fetch', server.url('/hops/10/app.aci')]);
    await expectFetched(w, r, app);
    expect(server.log).toHaveLength(22);
  });

  it('11 redirects: too many redirects', async () => {
    const w = world();
    const r = await w.run(['fetch', server.url('/hops/11/app.aci')]);
    await expectFetchFailed(w, r, /too many redirects/);
    expect(server.log.length).toBeLessThanOrEqual(11);
  });

  it('a redirect loop ends with too many redirects', async () => {
    const w = world();
    server.route('/loop.aci', redirect('/loop.aci', 301));
    server.route('/loop.aci.asc', redirect('/loop.aci.asc', 301));
    const r = await w.run(['fetch', server.url('/loop.aci')]);
    await expectFetchFailed(w, r, /too many redirects/);
  });

  it('never follows https → http, even with --insecure-options=http', async () => {
    plain.route('/plain/app.aci', serveFile(app.aci));
    plain.route('/plain/app.aci.asc', serveFile(app.asc));
    server.route('/to-http/app.aci.asc', redirect(plain.url('/plain/app.aci.asc')));
    server.route('/to-http/app.aci', redirect(plain.url('/plain/app.aci')));
    for (const flags of [[], ['--insecure-options=http']]) {
      const w = world();
      const r = await w.run([...flags, 'fetch', server.url('/to-http/app.aci')]);
      await expectFetchFailed(w, r, /refusing redirect from https:.* to plain http/);
    }
    expect(plain.log).toEqual([]);
  });

  it('a redirect to a 404 fails with the status', async () => {
    const w = world();
    server.route('/gone.aci', redirect('/nowhere.aci', 307));
    server.route('/gone.aci.asc', redirect('/nowhere.aci.asc', 307));
    const r = await w.run(['fetch', server.url('/gone.aci')]);
    await expectFetchFailed(w, r, /404/);
  });
});

describe('plain http', () => {
  it('http:// is refused without --insecure-options=http, and no request is made', async () => {
    const w = world();
    plain.route('/h/app.aci', serveFile(app.aci));
    plain.route('/h/app.aci.asc', serveFile(app.asc));
    const r = await w.run(['fetch', plain.url('/h/app.aci')]);
    await expectFetchFailed(w, r, /plain http.*--insecure-options=http/);
    expect(plain.log).toEqual([]);
  });

  it('with --insecure-options=http the image and its signature come over http', async () => {
    const w = world();
    plain.route('/h/app.aci', serveFile(app.aci));
    plain.route('/h/app.aci.asc', serveFile(app.asc));
    const r = await w.run(['--insecure-options=http', 'fetch', plain.url('/h/app.aci')]);
    await expectFetched(w, r, app);
    expect(requests(plain)).toEqual(['GET /h/app.aci 200', 'GET /h/app.aci.asc 200']);
  });

  it('--insecure-options=http does not turn off signature checks', async () => {
    const w = world();
    plain.route('/h/bad.aci', serveFile(app.aci));
    plain.route('/h/bad.aci.asc', serveFile(other.asc));
    const r = await w.run(['--insecure-options=http', 'fetch', plain.url('/h/bad.aci')]);
    await expectFetchFailed(w, r, /signature/i);
    expect(await listJson(w)).toEqual([]);
  });
});
