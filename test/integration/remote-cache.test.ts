/**
 * HTTP caching of fetched URLs (rkt's `remote` rows): Cache-Control max-age (no request while
 * fresh), ETag revalidation (If-None-Match → 304 reuses the stored image), the pull policies
 * `new`, `update`, `never`, and concurrent fetches of one URL downloading it once.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { sequence, serveFile, startServer, type TestServer } from '../helpers/https-server.js';
import { key64, listJson, storeFiles } from '../helpers/store-check.js';
import { testCa, type TestCa } from '../helpers/test-ca.js';
import { expectFetched, expectFetchFailed, remoteWorld, serveImage, signedImage, SIGNER_UID, type SignedImage } from './remote-fixtures.js';

let ca: TestCa;
let gpg: GpgHome;
let fpr: string;
let scratch: string;
let server: TestServer;
let v1: SignedImage;
let v2: SignedImage;
const worlds: World[] = [];

function world(): World {
  const w = remoteWorld(ca, gpg, fpr);
  worlds.push(w);
  return w;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Requests the server got for `p` (image) and `p.asc`, as `status` lists. */
const seen = (p: string): { aci: number[]; asc: number[] } => ({ aci: server.requests(p).map((e) => e.status), asc: server.requests(`${p}.asc`).map((e) => e.status) });

beforeAll(async () => {
  ca = testCa();
  gpg = makeGpgHome();
  fpr = gpg.genKey(SIGNER_UID);
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-cache-'));
  v1 = signedImage(gpg, scratch, fpr, 'example.com/remote/cached', [{ path: 'rootfs/v', body: 'one\n' }]);
  v2 = signedImage(gpg, scratch, fpr, 'example.com/remote/cached', [{ path: 'rootfs/v', body: 'two\n' }]);
  server = await startServer({ tls: ca.server });
});

afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
  server.log.length = 0;
});

afterAll(async () => {
  await server.close();
  gpg.cleanup();
  ca.cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('Cache-Control max-age', () => {
  it('while fresh, a second fetch makes no request at all', async () => {
    const w = world();
    const url = serveImage(server, '/fresh.aci', v1, { etag: '"f1"', cacheControl: 'max-age=3600' });
    await expectFetched(w, await w.run(['fetch', url]), v1);
    const before = server.log.length;
    const r = await w.run(['--debug', 'fetch', url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${v1.short}\n`);
    expect(server.log.length).toBe(before);
    expect(r.stderr).toContain("isn't expired, not fetching");
  });

  it('once max-age has passed, the next fetch revalidates', async () => {
    const w = world();
    const url = serveImage(server, '/short.aci', v1, { etag: '"s1"', cacheControl: 'max-age=1' });
    await expectFetched(w, await w.run(['fetch', url]), v1);
    await sleep(1500);
    const r = await w.run(['fetch', url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${v1.short}\n`);
    expect(server.requests('/short.aci').map((e) => [e.headers['if-none-match'], e.status])).toEqual([
      [undefined, 200],
      ['"s1"', 304],
    ]);
  });

  it('a removed image is fetched again even while its URL is fresh', async () => {
    const w = world();
    const url = serveImage(server, '/removed.aci', v1, { cacheControl: 'max-age=3600' });
    await expectFetched(w, await w.run(['fetch', url]), v1);
    expect((await w.run(['image', 'rm', v1.id])).code).toBe(0);
    expect(await listJson(w)).toEqual([]);
    await expectFetched(w, await w.run(['fetch', url]), v1);
    expect(seen('/removed.aci').aci).toEqual([200, 200]);
  });
});

describe('ETag revalidation', () => {
  it('If-None-Match → 304: the stored image is reused, no body and no signature sent again', async () => {
    const w = world();
    const url = serveImage(server, '/etag.aci', v1, { etag: '"e1"' });
    await expectFetched(w, await w.run(['fetch', url]), v1);
    const r = await w.run(['fetch', url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${v1.short}\n`);
    const second = server.requests('/etag.aci')[1]!;
    expect(second.headers['if-none-match']).toBe('"e1"');
    expect(second).toMatchObject({ status: 304, bytes: 0 });
    expect(seen('/etag.aci').asc).toEqual([200]);
    expect(await listJson(w)).toHaveLength(1);
  });

  it('a changed ETag brings the new image (and its signature)', async () => {
    const w = world();
    server.route('/changes.aci', sequence(serveFile(v1.aci, { etag: '"c1"' }), serveFile(v2.aci, { etag: '"c2"' })));
    server.route('/changes.aci.asc', sequence(serveFile(v1.asc), serveFile(v2.asc)));
    await expectFetched(w, await w.run(['fetch', server.url('/changes.aci')]), v1);
    await expectFetched(w, await w.run(['fetch', server.url('/changes.aci')]), v2);
    expect(server.requests('/changes.aci').map((e) => [e.headers['if-none-match'], e.status])).toEqual([
      [undefined, 200],
      ['"c1"', 200],
    ]);
    expect((await listJson(w)).map((i) => i.id).sort()).toEqual([key64(v1.id), key64(v2.id)].sort());
  });

  it('without validators every fetch downloads again (and stores one image)', async () => {
    const w = world();
    const url = serveImage(server, '/plain.aci', v1);
    await expectFetched(w, await w.run(['fetch', url]), v1);
    await expectFetched(w, await w.run(['fetch', url]), v1);
    expect(server.requests('/plain.aci').map((e) => [e.headers['if-none-match'], e.status])).toEqual([
      [undefined, 200],
      [undefined, 200],
    ]);
    expect(await listJson(w)).toHaveLength(1);
  });
});

describe('--pull-policy', () => {
  it('never: nothing stored → rkt\'s error, no request', async () => {
    const w = world();
    const url = serveImage(server, '/never.aci', v1);
    const r = await w.run(['fetch', '--pull-policy=never', url]);
    await expectFetchFailed(w, r, /unable to fetch image from URL ".*\/never\.aci": either image was not found in the store or store was disabled and fetching from remote yielded nothing or it was disabled/);
    expect(server.log).toEqual([]);
  });

  it('never: a stored image fetched from that URL is used without a request', async () => {
    const w = world();
    const url = serveImage(server, '/never2.aci', v1, { etag: '"n"' });
    await expectFetched(w, await w.run(['fetch', url]), v1);
    const before = server.log.length;
    const r = await w.run(['fetch', '--pull-policy=never', url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${v1.short}\n`);
    expect(server.log.length).toBe(before);
  });

  it('new: a stored image is used without a request even when it is not fresh', async () => {
    const w = world();
    const url = serveImage(server, '/new.aci', v1, { etag: '"x"', cacheControl: 'no-cache' });
    await expectFetched(w, await w.run(['fetch', '--pull-policy=new', url]), v1);
    const before = server.log.length;
    const r = await w.run(['--debug', 'fetch', '--pull-policy=new', url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${v1.short}\n`);
    expect(r.stderr).toContain('using image from local store for url');
    expect(server.log.length).toBe(before);
  });

  it('update (the default) asks the server again', async () => {
    const w = world();
    const url = serveImage(server, '/update.aci', v1, { etag: '"u"' });
    await expectFetched(w, await w.run(['fetch', url]), v1);
    expect((await w.run(['fetch', '--pull-policy=update', url])).code).toBe(0);
    expect((await w.run(['fetch', url])).code).toBe(0);
    expect(seen('/update.aci').aci).toEqual([200, 304, 304]);
  });

  it('an unknown policy is a usage error', async () => {
    const w = world();
    const r = await w.run(['fetch', '--pull-policy=sometimes', server.url('/x.aci')]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
    expect(r.stderr).toContain('sometimes');
    expect(server.log).toEqual([]);
  });
});

describe('concurrent fetches of one URL', () => {
  it('4 processes: one download (one 200 GET of the image), the others wait and reuse it', async () => {
    const w = world();
    const big = signedImage(gpg, scratch, fpr, 'example.com/remote/shared', [{ path: 'rootfs/blob', body: randomBytes(2 * 2 ** 20) }]);
    // ~3 s per download, so the four processes certainly overlap.
    const url = serveImage(server, '/shared.aci', big, { etag: '"sh"', throttle: { chunk: 64 * 1024, delayMs: 90 } });
    const runs = await Promise.all([0, 1, 2, 3].map(() => w.run(['fetch', url])));
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${big.short}\n`);
    }
    const waited = runs.filter((r) => r.stderr.includes('image: another capsule is downloading this file, waiting...'));
    expect(waited.length).toBeGreaterThanOrEqual(1);
    const gets = server.requests('/shared.aci');
    // The waiters find the fresh result under the lock and ask nothing (not even a revalidation).
    expect(gets.map((e) => [e.status, e.bytes])).toEqual([[200, big.aci.length]]);
    expect(await listJson(w)).toHaveLength(1);
    expect(storeFiles(w.dir).blobs).toHaveLength(1);
    expect(storeFiles(w.dir).tmp.filter((n) => n.endsWith('.part'))).toEqual([]);
  });
});
