import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { manifestJson, rawTar, sampleImage, simpleAci } from '../helpers/images.js';
import { expectedId, fetchInsecure, key64, listJson, short32, storeFiles, writeImage } from '../helpers/store-check.js';

const compress = (tool: 'bzip2' | 'xz', data: Buffer): Buffer => execFileSync(tool, ['-c'], { input: data, maxBuffer: 64 * 2 ** 20 });

describe('capsule fetch (local files)', () => {
  const worlds: World[] = [];
  const world = (): World => {
    const w = makeWorld();
    worlds.push(w);
    return w;
  };
  afterAll(() => {
    for (const w of worlds) w.cleanup();
  });

  let busybox: Buffer;
  let busyboxTar: Buffer;
  let busyboxId: string;
  beforeAll(() => {
    busybox = fs.readFileSync(sampleImage('busybox'));
    busyboxTar = zlib.gunzipSync(busybox);
    busyboxId = expectedId(busybox);
  });

  it('prints sha512- and 32 hex of the SHA-512 of the uncompressed tar; 64 hex with --full', async () => {
    const w = world();
    const file = writeImage(w, 'busybox.aci', busybox);
    const r = await fetchInsecure(w, [file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sha512-[0-9a-f]{32}\n$/);
    expect(r.stdout.trim()).toBe(short32(busyboxId));
    expect(r.stderr).toContain('warning: image signature verification has been disabled');

    const full = await fetchInsecure(w, ['--full', file]);
    expect(full.code).toBe(0);
    expect(full.stdout).toMatch(/^sha512-[0-9a-f]{64}\n$/);
    expect(full.stdout.trim()).toBe(key64(busyboxId));
  });

  it('detects gzip, bzip2, xz and plain tar by content, not by file name', async () => {
    const w = world();
    const inputs: [string, Buffer][] = [
      ['gzip-named.tar', busybox],
      ['bzip2-named.gz', compress('bzip2', busyboxTar)],
      ['xz-named.bz2', compress('xz', busyboxTar)],
      ['plain-named.xz', busyboxTar],
    ];
    for (const [name, data] of inputs) {
      const r = await fetchInsecure(w, ['--full', writeImage(w, name, data)]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim(), name).toBe(key64(busyboxId));
    }
    const listed = await listJson(w);
    expect(listed.map((i) => i.id)).toEqual([key64(busyboxId)]);
    // The blob is the uncompressed tar, whatever the input's compression was.
    const blobs = storeFiles(w.dir).blobs;
    expect(blobs.map((b) => b.name)).toEqual([busyboxId]);
    expect(fs.readFileSync(blobs[0]!.file).equals(busyboxTar)).toBe(true);
  });

  it('the same image fetched twice gives the same ID and one index row', async () => {
    const w = world();
    const aci = simpleAci('example.com/twice', [{ path: 'rootfs/hello', body: 'hi\n' }]);
    const file = writeImage(w, 'twice.aci', aci);
    const a = await fetchInsecure(w, ['--full', file]);
    const b = await fetchInsecure(w, ['--full', file]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout.trim()).toBe(key64(expectedId(aci)));
    const listed = await listJson(w);
    expect(listed).toHaveLength(1);
    expect(listed[0]!.name).toBe('example.com/twice');
    expect(storeFiles(w.dir).blobs).toHaveLength(1);
    expect(storeFiles(w.dir).trees).toHaveLength(1);
  });

  it('prints one ID per image, in argument order', async () => {
    const w = world();
    const a = simpleAci('example.com/one', [{ path: 'rootfs/a', body: 'a' }]);
    const b = simpleAci('example.com/two', [{ path: 'rootfs/b', body: 'b' }]);
    const r = await fetchInsecure(w, [writeImage(w, 'b.aci', b), writeImage(w, 'a.aci', a)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${short32(expectedId(b))}\n${short32(expectedId(a))}\n`);
    expect((await listJson(w)).map((i) => i.name).sort()).toEqual(['example.com/one', 'example.com/two']);
  });

  it('a plain tar with trailing zero blocks keeps them: the ID covers every byte', async () => {
    const w = world();
    const tar = rawTar([{ path: 'rootfs/', type: 'Directory' }, { path: 'manifest', body: manifestJson('example.com/padded') }], {
      trailer: Buffer.alloc(8192),
    });
    const r = await fetchInsecure(w, ['--full', writeImage(w, 'padded.img', tar)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(key64(expectedId(tar)));
  });

  it('refuses a file that is not an image, storing nothing', async () => {
    const w = world();
    const r = await fetchInsecure(w, [writeImage(w, 'junk.aci', Buffer.from('this is not a tar file at all\n'.repeat(40)))]);
    expect(r.code).toBe(254);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('unknown image filetype');
    expect(await listJson(w)).toEqual([]);
    const files = storeFiles(w.dir);
    expect(files.blobs).toEqual([]);
    expect(files.trees).toEqual([]);
    expect(files.tmp).toEqual([]);
  });

  it('without --insecure-options=image an unsigned file is refused with one line', async () => {
    const w = world();
    const file = writeImage(w, 'unsigned.aci', simpleAci('example.com/unsigned'));
    const r = await w.run(['fetch', file]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
    expect(r.stderr).toMatch(/^fetch: .*signature/);
    expect(await listJson(w)).toEqual([]);
  });

  it('a missing file fails with 254 and names the file', async () => {
    const w = world();
    const r = await fetchInsecure(w, [`${w.base}/nope.aci`]);
    expect(r.code).toBe(254);
    expect(r.stderr).toContain('nope.aci');
    expect(r.stdout).toBe('');
  });

  it('an ID argument resolves from the store; an unknown one fails', async () => {
    const w = world();
    const aci = simpleAci('example.com/by-id');
    const id = expectedId(aci);
    const miss = await fetchInsecure(w, [id.slice(0, 20)]);
    expect(miss.code).toBe(254);
    expect((await fetchInsecure(w, [writeImage(w, 'by-id.aci', aci)])).code).toBe(0);
    const hit = await fetchInsecure(w, ['--full', id.slice(0, 20)]);
    expect(hit.code, hit.stderr).toBe(0);
    expect(hit.stdout.trim()).toBe(key64(id));
  });
});

describe("rkt's deprecated fetch --store-only / --no-store", () => {
  let w: World;
  let file: string;
  beforeAll(() => {
    w = makeWorld('capsule-pc-fetch-');
    file = writeImage(w, 'dep.aci', simpleAci('example.com/pc-dep', [{ path: 'rootfs/x', body: 'x' }]));
  });
  afterAll(() => w.cleanup());

  it('--store-only means --pull-policy=never, with a warning', async () => {
    const missing = await w.run(['--insecure-options=image', 'fetch', '--store-only', 'example.com/pc-dep']);
    expect(missing.code).toBe(254);
    expect(missing.stderr).toContain('fetch: warning: --store-only is deprecated: use --pull-policy=never');
    // By name from the store only: no discovery was tried.
    expect(missing.stderr).not.toMatch(/discovery|https:/);
    const fetched = await fetchInsecure(w, [file]);
    expect(fetched.code, fetched.stderr).toBe(0);
    const stored = await w.run(['--insecure-options=image', 'fetch', '--store-only', 'example.com/pc-dep']);
    expect(stored.code, stored.stderr).toBe(0);
    expect(stored.stdout.trim()).toBe(fetched.stdout.trim());
  });

  it('--no-store means --pull-policy=update, with a warning', async () => {
    const r = await w.run(['--insecure-options=image', 'fetch', '--no-store', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('fetch: warning: --no-store is deprecated: use --pull-policy=update');
  });

  it('both, or one with --pull-policy, is refused in one line', async () => {
    for (const [args, msg] of [
      [['--store-only', '--no-store'], 'fetch: both --store-only and --no-store specified'],
      [['--store-only', '--pull-policy=new'], 'fetch: --store-only and --pull-policy are mutually exclusive (--store-only means --pull-policy=never)'],
    ] as const) {
      const r = await w.run(['--insecure-options=image', 'fetch', ...args, file]);
      expect(r.code).toBe(254);
      expect(errorLines(r)).toEqual([msg]);
    }
  });
});
