/**
 * Broken transfers over HTTPS: a connection cut mid-body (kept in cas/tmp and resumed with Range +
 * If-Range), a validator that changed in between (full download again), servers that ignore
 * Range or resume at the wrong offset, a Content-Length that lies, and a gzip bomb.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { END_OF_ARCHIVE, encodeHeader, padding } from '../../src/aci/tar-writer.js';
import type { World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { abortAfter, lyingLength, sequence, serveFile, startServer, type TestServer } from '../helpers/https-server.js';
import { manifestJson } from '../helpers/images.js';
import { expectedId } from '../helpers/store-check.js';
import { testCa, type TestCa } from '../helpers/test-ca.js';
import { expectFetched, expectFetchFailed, partials, remoteWorld, signBytes, signedImage, SIGNER_UID, type SignedImage } from './remote-fixtures.js';

const MiB = 2 ** 20;
const CUT = MiB;

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

/** An image of ~3 MiB of random (incompressible) bytes, so a cut at 1 MiB is mid-body. */
const bigImage = (tag: string): SignedImage => signedImage(gpg, scratch, fpr, 'example.com/remote/big', [{ path: `rootfs/${tag}`, body: randomBytes(3 * MiB) }]);

beforeAll(() => {
  ca = testCa();
  gpg = makeGpgHome();
  fpr = gpg.genKey(SIGNER_UID);
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-transfer-'));
  v1 = bigImage('v1');
  v2 = bigImage('v2');
});

beforeAll(async () => {
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

/** Fetches `p` once with the server cutting the body at CUT: a one-line failure, a partial file kept. */
async function interrupted(w: World, p: string): Promise<void> {
  const r = await w.run(['fetch', server.url(p)]);
  await expectFetchFailed(w, r, /transfer|closed|socket|terminated/i, { partialOk: true });
  expect(partials(w)).toHaveLength(1);
}

const imageRequests = (p: string): { range: string | undefined; ifRange: string | undefined; status: number; bytes: number }[] =>
  server.requests(p).map((e) => ({ range: e.headers.range, ifRange: e.headers['if-range'] as string | undefined, status: e.status, bytes: e.bytes }));

describe('resuming an interrupted download', () => {
  it('the second fetch asks for the rest (Range + If-Range with the ETag) and gets the image', async () => {
    const w = world();
    const etag = '"big-v1"';
    server.route('/resume/etag.aci', sequence(abortAfter(v1.aci, CUT, { etag }), serveFile(v1.aci, { etag })));
    server.route('/resume/etag.aci.asc', serveFile(v1.asc));
    await interrupted(w, '/resume/etag.aci');
    const kept = fs.statSync(path.join(w.dir, 'cas', 'tmp', partials(w)[0]!)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(CUT);

    const r = await w.run(['fetch', server.url('/resume/etag.aci')]);
    await expectFetched(w, r, v1);
    const [first, second] = imageRequests('/resume/etag.aci');
    expect(first).toMatchObject({ range: undefined, status: 200 });
    expect(second).toEqual({ range: `bytes=${kept}-`, ifRange: etag, status: 206, bytes: v1.aci.length - kept });
    expect(partials(w)).toEqual([]);
  });

  it('with only Last-Modified as validator, If-Range carries the date', async () => {
    const w = world();
    const lastModified = 'Wed, 01 Jan 2025 00:00:00 GMT';
    server.route('/resume/date.aci', sequence(abortAfter(v1.aci, CUT, { 'last-modified': lastModified }), serveFile(v1.aci, { lastModified })));
    server.route('/resume/date.aci.asc', serveFile(v1.asc));
    await interrupted(w, '/resume/date.aci');
    const r = await w.run(['fetch', server.url('/resume/date.aci')]);
    await expectFetched(w, r, v1);
    const second = imageRequests('/resume/date.aci')[1]!;
    expect(second.ifRange).toBe(lastModified);
    expect(second.status).toBe(206);
    expect(second.bytes).toBeLessThan(v1.aci.length);
  });

  it('the ETag changed in between: If-Range does not match, the server sends the new file whole', async () => {
    const w = world();
    server.route('/resume/changed.aci', sequence(abortAfter(v1.aci, CUT, { etag: '"one"' }), serveFile(v2.aci, { etag: '"two"' })));
    server.route('/resume/changed.aci.asc', sequence(serveFile(v1.asc), serveFile(v2.asc)));
    await interrupted(w, '/resume/changed.aci');
    const r = await w.run(['fetch', server.url('/resume/changed.aci')]);
    await expectFetched(w, r, v2);
    const second = imageRequests('/resume/changed.aci')[1]!;
    expect(second.ifRange).toBe('"one"');
    expect(second).toMatchObject({ status: 200, bytes: v2.aci.length });
    expect(partials(w)).toEqual([]);
  });

  it('a server that ignores Range sends the whole file again: still correct', async () => {
    const w = world();
    server.route('/resume/norange.aci', sequence(abortAfter(v1.aci, CUT, { etag: '"nr"' }), serveFile(v1.aci, { etag: '"nr"', ranges: false })));
    server.route('/resume/norange.aci.asc', serveFile(v1.asc));
    await interrupted(w, '/resume/norange.aci');
    const r = await w.run(['fetch', server.url('/resume/norange.aci')]);
    await expectFetched(w, r, v1);
    expect(imageRequests('/resume/norange.aci')[1]).toMatchObject({ status: 200, bytes: v1.aci.length });
  });

  it('a 206 that starts at the wrong offset is refused, and nothing is stored', async () => {
    const w = world();
    server.route(
      '/resume/offset.aci',
      sequence(abortAfter(v1.aci, CUT, { etag: '"off"' }), (_req, res) => {
        res.writeHead(206, { etag: '"off"', 'content-range': `bytes 0-${v1.aci.length - 1}/${v1.aci.length}`, 'content-length': v1.aci.length });
        res.end(v1.aci);
      }),
    );
    server.route('/resume/offset.aci.asc', serveFile(v1.asc));
    await interrupted(w, '/resume/offset.aci');
    const r = await w.run(['fetch', server.url('/resume/offset.aci')]);
    await expectFetchFailed(w, r, /wrong offset/);
  });

  it('a partial file does not outlive a failure that is not a broken transfer', async () => {
    const w = world();
    server.route('/resume/then-bad.aci', sequence(abortAfter(v1.aci, CUT, { etag: '"tb"' }), serveFile(v1.aci, { etag: '"tb"' })));
    server.route('/resume/then-bad.aci.asc', sequence(serveFile(v1.asc), serveFile(v2.asc)));
    await interrupted(w, '/resume/then-bad.aci');
    const r = await w.run(['fetch', server.url('/resume/then-bad.aci')]);
    await expectFetchFailed(w, r, /signature/i);
  });
});

describe('Content-Length that lies', () => {
  it('more announced than sent (connection closed early): a transfer error, nothing stored', async () => {
    const w = world();
    server.route('/lie/more.aci', lyingLength(v1.aci, v1.aci.length + 4096));
    server.route('/lie/more.aci.asc', serveFile(v1.asc));
    const r = await w.run(['fetch', server.url('/lie/more.aci')]);
    await expectFetchFailed(w, r, /transfer|ended early|closed|terminated/i, { partialOk: true });
  });

  it('less announced than sent: the image is cut short and refused', async () => {
    const w = world();
    server.route('/lie/less.aci', lyingLength(v1.aci, v1.aci.length - 4096));
    server.route('/lie/less.aci.asc', serveFile(v1.asc));
    const r = await w.run(['fetch', server.url('/lie/less.aci')]);
    await expectFetchFailed(w, r, /.+/);
  });

  it('a signature that never ends (Content-Length 100 MB, 64 KiB sent) fails without waiting forever', async () => {
    const w = world();
    server.route('/lie/sig.aci', serveFile(v1.aci));
    server.route('/lie/sig.aci.asc', lyingLength(Buffer.alloc(64 * 1024, 0x41), 100_000_000));
    const r = await w.run(['fetch', server.url('/lie/sig.aci')]);
    await expectFetchFailed(w, r, /signature|larger than|closed|terminated/i);
  });
});

describe('gzip bomb over HTTPS', () => {
  let bomb: Buffer;
  let bombAsc: Buffer;

  beforeAll(async () => {
    // 256 MiB of zeros in one file, ~250 KiB compressed: far past the 200x ratio allowance.
    const file = path.join(scratch, 'bomb.aci');
    // eslint-disable-next-line @typescript-eslint/require-await -- an async generator so Readable.from streams it with backpressure
    async function* tar(): AsyncGenerator<Buffer> {
      yield encodeHeader({ path: 'rootfs/', type: 'Directory', mode: 0o755 });
      yield encodeHeader({ path: 'rootfs/zeros', type: 'File', mode: 0o644, size: 256 * MiB });
      const zeros = Buffer.alloc(MiB);
      for (let i = 0; i < 256; i++) yield zeros;
      const m = Buffer.from(manifestJson('example.com/remote/bomb'));
      yield Buffer.concat([encodeHeader({ path: 'manifest', type: 'File', mode: 0o644, size: m.length }), m, padding(m.length), END_OF_ARCHIVE]);
    }
    await pipeline(Readable.from(tar()), zlib.createGzip({ level: 9 }), fs.createWriteStream(file));
    bomb = fs.readFileSync(file);
    bombAsc = signBytes(gpg, scratch, bomb, fpr);
  });

  it('a signed bomb is refused while streaming, with the decompression-bomb error', async () => {
    expect(bomb.length).toBeLessThan(MiB);
    const w = world();
    server.route('/bomb.aci', serveFile(bomb));
    server.route('/bomb.aci.asc', serveFile(bombAsc));
    const r = await w.run(['fetch', server.url('/bomb.aci')]);
    await expectFetchFailed(w, r, /refusing a decompression bomb/);
    expect(expectedId(bomb)).toMatch(/^sha512-/); // (the bomb is a valid gzip: only the limit stops it)
  });
});
