/**
 * Images large enough (gzip, size known, at least WORKER_MIN_BYTES compressed) to be inflated in
 * the gunzip worker thread (src/aci/gunzip-worker.ts), end to end: over HTTPS and from a file, a
 * gzip stream broken in the middle, a transfer cut and resumed, a signature over other bytes and
 * a body cut short by a Content-Length that lies. Every fetch also checks, through a preloaded
 * hook that notes each gunzip worker started, that the worker path was really taken.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_MIN_BYTES } from '../../src/fetch/tar-intake.js';
import type { RunResult, World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { abortAfter, lyingLength, sequence, serveFile, startServer, type TestServer } from '../helpers/https-server.js';
import { manifestJson, rawTar, simpleAci, type RawEntry } from '../helpers/images.js';
import { expectedId, short32, storeFiles } from '../helpers/store-check.js';
import { testCa, type TestCa } from '../helpers/test-ca.js';
import { expectFetched, expectFetchFailed, partials, remoteWorld, serveImage, signBytes, SIGNER_UID, type SignedImage } from './remote-fixtures.js';

const MiB = 2 ** 20;
const NAME = 'example.com/remote/large';
/** How far past the worker threshold the image must be, so a few bytes more or less never flip the path. */
const MARGIN = MiB;

let ca: TestCa;
let gpg: GpgHome;
let fpr: string;
let scratch: string;
let server: TestServer;
/** The uncompressed tar of the large image, and what its rootfs must become. */
let tar: Buffer;
let expectedTree: Map<string, { type: 'file' | 'dir' | 'symlink'; mode: number; body?: Buffer; target?: string }>;
let big: SignedImage;
/** A preloaded CommonJS hook (NODE_OPTIONS=--require) that logs every gunzip worker capsule starts. */
let hook: string;
const worlds: World[] = [];

function world(): World {
  const w = remoteWorld(ca, gpg, fpr);
  worlds.push(w);
  return w;
}

/** Runs capsule in `w` with the worker hook; returns the result and how many gunzip workers it started. */
async function run(w: World, args: string[]): Promise<RunResult & { workers: number }> {
  const log = path.join(w.base, `workers-${process.hrtime.bigint()}.log`);
  // A worker left running would keep capsule alive: such a run is killed (and fails) after 30 s.
  const r = await w.run(args, { env: { NODE_OPTIONS: `--require ${hook}`, CAPSULE_TEST_WORKER_LOG: log }, timeoutMs: 30_000 });
  const workers = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter((l) => l === 'gunzip').length : 0;
  return { ...r, workers };
}

/**
 * ~11 MiB of random (incompressible) file bodies in a few hundred files, in directories of
 * several modes, with a symlink: bodies span many 256 KiB inflate chunks, and headers fall at
 * every offset within them.
 */
function largeEntries(): RawEntry[] {
  const entries: RawEntry[] = [
    { path: 'rootfs/bin/', type: 'Directory', mode: 0o755 },
    { path: 'rootfs/data/', type: 'Directory', mode: 0o750 },
    { path: 'rootfs/data/private/', type: 'Directory', mode: 0o700 },
  ];
  const dirs = ['rootfs/bin', 'rootfs/data', 'rootfs/data/private'];
  const modes = [0o644, 0o600, 0o755, 0o640, 0o444];
  for (let i = 0; i < 320; i++) {
    // Mostly small and odd-sized; every 40th one empty, every 100th one 1.25 MiB.
    const size = i % 40 === 7 ? 0 : i % 100 === 50 ? 1.25 * MiB : 1 + ((i * 7919) % (56 * 1024));
    entries.push({ path: `${dirs[i % dirs.length]!}/file-${String(i).padStart(4, '0')}`, body: randomBytes(size), mode: modes[i % modes.length]! });
  }
  entries.push({ path: 'rootfs/link', type: 'SymbolicLink', linkpath: 'data/file-0001' });
  return entries;
}

function treeOf(entries: RawEntry[]): typeof expectedTree {
  const t: typeof expectedTree = new Map();
  for (const e of entries) {
    const rel = e.path.replace(/^rootfs\//, '').replace(/\/$/, '');
    if (e.type === 'Directory') t.set(rel, { type: 'dir', mode: e.mode ?? 0o755 });
    else if (e.type === 'SymbolicLink') t.set(rel, { type: 'symlink', mode: 0o777, target: e.linkpath! });
    else t.set(rel, { type: 'file', mode: e.mode ?? 0o644, body: Buffer.from(e.body ?? '') });
  }
  return t;
}

/** Every path under `root` compared with the expected tree: type, mode, content, link target. */
function expectTree(root: string): void {
  const seen = (fs.readdirSync(root, { recursive: true }) as string[]).sort();
  expect(seen).toEqual([...expectedTree.keys()].sort());
  for (const [rel, want] of expectedTree) {
    const p = path.join(root, rel);
    const st = fs.lstatSync(p);
    if (want.type === 'symlink') {
      expect(st.isSymbolicLink(), rel).toBe(true);
      expect(fs.readlinkSync(p), rel).toBe(want.target);
      continue;
    }
    expect(st.mode & 0o7777, rel).toBe(want.mode);
    if (want.type === 'dir') expect(st.isDirectory(), rel).toBe(true);
    else {
      expect(st.isFile(), rel).toBe(true);
      // Compared by hash: a mismatch message of a few MiB would help nobody.
      expect(sha256(fs.readFileSync(p)), rel).toBe(sha256(want.body!));
    }
  }
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function signed(aci: Buffer): SignedImage {
  const id = expectedId(aci);
  return { name: NAME, aci, asc: signBytes(gpg, scratch, aci, fpr), id, short: short32(id) };
}

/**
 * The same tar as a level-0 gzip (stored blocks only: one header byte, LEN, NLEN, then LEN bytes)
 * whose NLEN of the stored block nearest `at` is broken: zlib stops right there with
 * "invalid stored block lengths", far from the end of the stream.
 */
function gzipBrokenAt(data: Buffer, at: number): { gz: Buffer; brokenAt: number } {
  const gz = Buffer.from(zlib.gzipSync(data, { level: 0 }));
  expect(gz[3]).toBe(0); // no optional gzip header fields: the deflate data starts at byte 10
  let off = 10;
  for (;;) {
    const header = gz[off]!;
    expect(header & 0b110, `block at ${off}`).toBe(0); // BTYPE 00: stored
    const len = gz.readUInt16LE(off + 1);
    expect(gz.readUInt16LE(off + 3)).toBe(len ^ 0xffff);
    if (off >= at) {
      gz.writeUInt16LE(gz.readUInt16LE(off + 3) ^ 0x0101, off + 3);
      return { gz, brokenAt: off };
    }
    if (header & 1) throw new Error('no stored block past the requested offset');
    off += 5 + len;
  }
}

beforeAll(async () => {
  ca = testCa();
  gpg = makeGpgHome();
  fpr = gpg.genKey(SIGNER_UID);
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-large-'));
  hook = path.join(scratch, 'worker-hook.cjs');
  fs.writeFileSync(
    hook,
    `const wt = require('node:worker_threads');
const fs = require('node:fs');
if (wt.isMainThread && process.env.CAPSULE_TEST_WORKER_LOG) {
  const Worker = wt.Worker;
  wt.Worker = class extends Worker {
    constructor(code, opts) {
      super(code, opts);
      if (String(code).includes('createGunzip')) fs.appendFileSync(process.env.CAPSULE_TEST_WORKER_LOG, 'gunzip\\n');
    }
  };
}
`,
  );
  const entries = largeEntries();
  expectedTree = treeOf(entries);
  tar = rawTar([{ path: 'rootfs/', type: 'Directory' }, ...entries, { path: 'manifest', body: manifestJson(NAME) }]);
  big = signed(zlib.gzipSync(tar));
  server = await startServer({ tls: ca.server });
});

afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
  server.log.length = 0;
});

afterAll(async () => {
  await server?.close();
  gpg?.cleanup();
  ca?.cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

it('the large image is past the worker threshold by a margin; its ID is the SHA-512 of its tar', () => {
  expect(big.aci.length).toBeGreaterThanOrEqual(WORKER_MIN_BYTES + MARGIN);
  expect(big.aci.length).toBeLessThan(16 * MiB);
  expect(big.id).toBe(`sha512-${createHash('sha512').update(tar).digest('hex')}`);
});

describe('a large gzip image', () => {
  it('over HTTPS: the ID of the uncompressed tar, the tar as the blob, every file of the tree intact', async () => {
    const w = world();
    const url = serveImage(server, '/large/app.aci', big);
    const r = await run(w, ['fetch', url]);
    await expectFetched(w, r, big);
    expect(r.workers).toBe(1);

    const f = storeFiles(w.dir);
    expect(f.blobs.map((b) => b.name)).toEqual([big.id]);
    const blob = fs.readFileSync(f.blobs[0]!.file);
    expect(blob.length).toBe(tar.length);
    expect(blob.equals(tar)).toBe(true);
    expect(f.tmp.filter((n) => !n.endsWith('.lock'))).toEqual([]);

    // The tree extracted while fetching (from the worker's chunks)...
    expect(f.trees).toHaveLength(1);
    expect(f.trees[0]!.rendered).toBe(true);
    expectTree(path.join(f.trees[0]!.dir, 'rootfs'));
    // ...and what a user gets out of the store.
    const out = path.join(w.base, 'out');
    const x = await w.run(['image', 'extract', '--rootfs-only', big.id.slice(0, 24), out]);
    expect(x.code, x.stderr).toBe(0);
    expectTree(out);
    const v = await w.run(['image', 'verify', NAME]);
    expect(v.code, v.stderr).toBe(0);
  });

  it('from a file with FILE.asc: the same ID', async () => {
    const w = world();
    const file = path.join(w.base, 'large.aci');
    fs.writeFileSync(file, big.aci);
    fs.writeFileSync(`${file}.asc`, big.asc);
    const r = await run(w, ['fetch', file]);
    await expectFetched(w, r, big);
    expect(r.workers).toBe(1);
    const f = storeFiles(w.dir);
    expect(fs.readFileSync(f.blobs[0]!.file).equals(tar)).toBe(true);
    expect(f.trees).toHaveLength(1);
    expectTree(path.join(f.trees[0]!.dir, 'rootfs'));
  });
});

it('a small gzip image is inflated in the main thread (the hook counts only real workers)', async () => {
  const small = signed(simpleAci(NAME, [{ path: 'rootfs/small', body: randomBytes(64 * 1024) }]));
  const w = world();
  const r = await run(w, ['fetch', serveImage(server, '/small/app.aci', small)]);
  await expectFetched(w, r, small);
  expect(r.workers).toBe(0);
});

describe('a large gzip image that goes wrong', () => {
  /** The large tar as a gzip stream broken ~6 MiB in, validly signed: only inflating it can fail. */
  let broken: SignedImage;
  let brokenAt: number;

  beforeAll(() => {
    let gz: Buffer;
    ({ gz, brokenAt } = gzipBrokenAt(tar, 6 * MiB));
    expect(() => zlib.gunzipSync(gz)).toThrow(/invalid stored block lengths/);
    broken = { name: NAME, aci: gz, asc: signBytes(gpg, scratch, gz, fpr), id: '(none)', short: '(none)' };
  });

  it('a gzip stream broken in the middle (validly signed): the gzip error, nothing stored, no partial', async () => {
    expect(broken.aci.length).toBeGreaterThanOrEqual(WORKER_MIN_BYTES + MARGIN);
    expect(brokenAt).toBeGreaterThan(4 * MiB);
    expect(brokenAt).toBeLessThan(broken.aci.length - 4 * MiB);
    const w = world();
    const url = serveImage(server, '/large/broken.aci', broken);
    const r = await run(w, ['fetch', url]);
    await expectFetchFailed(w, r, /decompressing gzip: invalid stored block lengths/);
    expect(r.workers).toBe(1);
    expect(storeFiles(w.dir).tmp.filter((n) => !n.endsWith('.lock'))).toEqual([]);
  });

  it('the same broken stream from a file: the same error, nothing stored', async () => {
    const w = world();
    const file = path.join(w.base, 'broken.aci');
    fs.writeFileSync(file, broken.aci);
    fs.writeFileSync(`${file}.asc`, broken.asc);
    const r = await run(w, ['fetch', file]);
    await expectFetchFailed(w, r, /decompressing gzip: invalid stored block lengths/);
    expect(r.workers).toBe(1);
    expect(storeFiles(w.dir).tmp.filter((n) => !n.endsWith('.lock'))).toEqual([]);
  });

  it('an entry refused halfway through the tar (while the worker is still inflating): that error, nothing stored', async () => {
    const entries = largeEntries();
    entries.splice(entries.length / 2, 0, { path: 'rootfs/../escape', body: 'out\n' });
    const hostileTar = rawTar([{ path: 'rootfs/', type: 'Directory' }, ...entries, { path: 'manifest', body: manifestJson(NAME) }]);
    const hostile = signed(zlib.gzipSync(hostileTar));
    expect(hostile.aci.length).toBeGreaterThanOrEqual(WORKER_MIN_BYTES + MARGIN);
    const w = world();
    const r = await run(w, ['fetch', serveImage(server, '/large/hostile.aci', hostile)]);
    await expectFetchFailed(w, r, /"rootfs\/\.\.\/escape" contains "\.\."/);
    expect(r.workers).toBe(1);
    expect(fs.existsSync(path.join(w.dir, 'escape'))).toBe(false);
    expect(storeFiles(w.dir).tmp.filter((n) => !n.endsWith('.lock'))).toEqual([]);
  });

  it('a transfer cut at 5 MiB: the transfer error and a kept partial; the next fetch resumes with Range and succeeds', async () => {
    const w = world();
    const etag = '"large-v1"';
    const cut = 5 * MiB;
    server.route('/large/resume.aci', sequence(abortAfter(big.aci, cut, { etag }), serveFile(big.aci, { etag })));
    server.route('/large/resume.aci.asc', serveFile(big.asc));
    const first = await run(w, ['fetch', server.url('/large/resume.aci')]);
    await expectFetchFailed(w, first, /transfer .* broke off|ended early/, { partialOk: true });
    expect(first.workers).toBe(1);
    expect(partials(w)).toHaveLength(1);
    const kept = fs.statSync(path.join(w.dir, 'cas', 'tmp', partials(w)[0]!)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(cut);

    const second = await run(w, ['fetch', server.url('/large/resume.aci')]);
    await expectFetched(w, second, big);
    expect(second.workers).toBe(1);
    const requests = server.requests('/large/resume.aci').map((e) => ({ range: e.headers.range, ifRange: e.headers['if-range'], status: e.status, bytes: e.bytes }));
    expect(requests).toEqual([
      { range: undefined, ifRange: undefined, status: 200, bytes: cut },
      { range: `bytes=${kept}-`, ifRange: etag, status: 206, bytes: big.aci.length - kept },
    ]);
    expect(storeFiles(w.dir).tmp.filter((n) => !n.endsWith('.lock'))).toEqual([]);
    expect(fs.readFileSync(storeFiles(w.dir).blobs[0]!.file).equals(tar)).toBe(true);
  });

  it('a signature over other bytes: "signature does not verify" once the image was read, nothing stored', async () => {
    const other = signed(simpleAci(NAME, [{ path: 'rootfs/other', body: 'other\n' }]));
    const w = world();
    const url = serveImage(server, '/large/swapped.aci', { ...big, asc: other.asc });
    const r = await run(w, ['fetch', url]);
    await expectFetchFailed(w, r, /signature does not verify/);
    expect(r.workers).toBe(1);
    // The whole image was downloaded (the signature is checked at its end).
    expect(server.requests('/large/swapped.aci')).toMatchObject([{ status: 200, bytes: big.aci.length }]);
    expect(storeFiles(w.dir).tmp.filter((n) => !n.endsWith('.lock'))).toEqual([]);
  });

  it('a body cut short by a Content-Length that announces less: the truncated gzip is refused, nothing kept', async () => {
    const w = world();
    const announced = big.aci.length - MiB;
    expect(announced).toBeGreaterThanOrEqual(WORKER_MIN_BYTES);
    server.route('/large/short.aci', lyingLength(big.aci, announced));
    server.route('/large/short.aci.asc', serveFile(big.asc));
    const r = await run(w, ['fetch', server.url('/large/short.aci')]);
    await expectFetchFailed(w, r, /decompressing gzip: unexpected end of file/);
    expect(r.workers).toBe(1);
    expect(storeFiles(w.dir).tmp.filter((n) => !n.endsWith('.lock'))).toEqual([]);
  });
});
