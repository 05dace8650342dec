// Hostile or broken archive layout, manifest and tar framing: bad manifests, missing or extra
// top-level entries, truncated streams, PAX/ustar disagreement (CVE-2025-62518 class). Also the
// one non-attack: trailing data after the end-of-archive marker imports fine.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Header } from 'tar';
import { describe, expect, it } from 'vitest';
import { END_OF_ARCHIVE, encodeHeader, padding } from '../../src/aci/tar-writer.js';
import { useVictimWorld } from '../helpers/victim-world.js';
import { manifestJson, rawTar, simpleAci, type RawEntry } from '../helpers/images.js';

const ROOTFS: RawEntry = { path: 'rootfs/', type: 'Directory' };
const MANIFEST: RawEntry = { path: 'manifest', body: manifestJson('example.com/hostile') };

const h = useVictimWorld();
const { expectRefusal, fetchHostile } = h;

/** A PAX extended header with the given records ("<len> key=value\n", the length counting itself). */
function paxHeader(records: [string, string][]): Buffer {
  const text = records
    .map(([k, v]) => {
      const line = ` ${k}=${v}\n`;
      let n = line.length;
      while (n !== line.length + String(n).length) n = line.length + String(n).length;
      return `${n}${line}`;
    })
    .join('');
  const h = Buffer.alloc(512);
  new Header({ path: 'PaxHeader/f', type: 'ExtendedHeader', size: text.length, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }).encode(h, 0);
  return Buffer.concat([h, Buffer.from(text), padding(text.length)]);
}

const fileEntry = (name: string, body: string): Buffer => Buffer.concat([encodeHeader({ path: name, type: 'File', mode: 0o644, size: body.length }), Buffer.from(body), padding(body.length)]);
/** Entries without the end-of-archive marker, to be framed by hand. */
const plainTar = (entries: RawEntry[]): Buffer => Buffer.concat(entries.map((e) => rawTar([e]).subarray(0, -1024)));
const sha512 = (b: Buffer): string => createHash('sha512').update(b).digest('hex');

describe('manifest', () => {
  it('manifest that is not JSON', async () => {
    const { r, before } = await fetchHostile(rawTar([ROOTFS, { path: 'manifest', body: '{"acKind": "ImageManifest", ' }], { gzip: true }));
    await expectRefusal(r, before, /manifest: not valid JSON/);
  });

  it('manifest nested 10,000 arrays deep', async () => {
    const { r, before } = await fetchHostile(rawTar([ROOTFS, { path: 'manifest', body: `${'['.repeat(10_000)}${']'.repeat(10_000)}` }], { gzip: true }));
    await expectRefusal(r, before, /manifest: nested deeper than 64 levels/);
  });

  it.each([
    ['EXAMPLE.com/X', /name: "EXAMPLE\.com\/X" .*lower case/],
    ['a/../b', /name: "a\/\.\.\/b" .*"\.\."/],
  ])('manifest with the invalid name %j', async (name, problem) => {
    const { r, before } = await fetchHostile(simpleAci(name, [{ path: 'rootfs/f', body: 'x' }]));
    await expectRefusal(r, before, problem);
  });

  it('two manifests with different names', async () => {
    const { r, before } = await fetchHostile(rawTar([ROOTFS, MANIFEST, { path: 'manifest', body: manifestJson('example.com/other') }], { gzip: true }));
    await expectRefusal(r, before, /duplicate file entry in archive: "manifest"/);
  });
});

describe('layout', () => {
  it('missing manifest', async () => {
    const { r, before } = await fetchHostile(rawTar([ROOTFS, { path: 'rootfs/f', body: 'x' }], { gzip: true }));
    await expectRefusal(r, before, /no image manifest found in layout/);
  });

  it('missing rootfs directory', async () => {
    const { r, before } = await fetchHostile(rawTar([MANIFEST], { gzip: true }));
    await expectRefusal(r, before, /no rootfs found in layout/);
  });

  it('extra top-level file', async () => {
    const { r, before } = await fetchHostile(simpleAci('example.com/hostile', [{ path: 'extra', body: 'x' }]));
    await expectRefusal(r, before, /unrecognized file path in layout: "extra"/);
  });
});

describe('tar and gzip framing', () => {
  it('truncated gzip stream', async () => {
    const whole = simpleAci('example.com/hostile', [{ path: 'rootfs/f', body: Buffer.from(createHash('sha512').update('seed').digest('hex').repeat(2000)) }]);
    const { r, before } = await fetchHostile(whole.subarray(0, Math.floor(whole.length / 2)));
    await expectRefusal(r, before, /decompressing gzip: unexpected end of file/);
  });

  it('tar cut inside an entry (the gzip stream itself is complete)', async () => {
    const tar = rawTar([ROOTFS, { path: 'rootfs/f', body: 'x'.repeat(10_000) }, MANIFEST]);
    const { r, before } = await fetchHostile(zlib.gzipSync(tar.subarray(0, 4096)));
    await expectRefusal(r, before, /unexpected end of archive inside an entry/);
  });

  it('tar without an end-of-archive marker', async () => {
    const { r, before } = await fetchHostile(zlib.gzipSync(plainTar([ROOTFS, { path: 'rootfs/f', body: 'x' }, MANIFEST])));
    await expectRefusal(r, before, /unexpected end of archive: no end-of-archive marker/);
  });

  it.each([7, 3])('PAX size %d that disagrees with the ustar size 5', async (paxSize) => {
    const tar = Buffer.concat([plainTar([ROOTFS]), paxHeader([['size', String(paxSize)]]), fileEntry('rootfs/f', 'hello'), plainTar([MANIFEST]), END_OF_ARCHIVE]);
    const { r, before } = await fetchHostile(zlib.gzipSync(tar));
    await expectRefusal(r, before, new RegExp(`inconsistent sizes for "rootfs/f": header 5, pax ${paxSize}`));
  });

  it('PAX owner no file can have (uid=-1, which chown reads as "leave unchanged")', async () => {
    const tar = Buffer.concat([plainTar([ROOTFS]), paxHeader([['uid', '-1']]), fileEntry('rootfs/f', 'hello'), plainTar([MANIFEST]), END_OF_ARCHIVE]);
    const { r, before } = await fetchHostile(zlib.gzipSync(tar));
    await expectRefusal(r, before, /PAX header of "rootfs\/f" has an invalid uid "-1"/);
  });

  it('bytes after the gzip stream that are not zeros are refused (not a gzip member)', async () => {
    const { r, before } = await fetchHostile(Buffer.concat([simpleAci('example.com/hostile'), Buffer.from('trailing junk')]));
    await expectRefusal(r, before, /decompressing gzip: incorrect header check/);
  });
});

describe('trailing data (not an attack)', () => {
  const entries: RawEntry[] = [ROOTFS, { path: 'rootfs/f', body: 'payload' }, MANIFEST];

  it('garbage after the end-of-archive marker imports, and the image ID covers it', async () => {
    // Several MiB, so it spans many decompressed chunks: all of it must be read and hashed.
    const garbage = Buffer.concat([Buffer.from('not a tar header at all'), createHash('sha512').update('x').digest(), Buffer.alloc(4 * 1024 * 1024, 0xff)]);
    const tar = rawTar(entries, { trailer: garbage });
    const file = path.join(h.world.base, 'trailing.aci');
    fs.writeFileSync(file, zlib.gzipSync(tar));
    const r = await h.world.run(['--insecure-options=image', 'fetch', '--full', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sha512-[0-9a-f]{64,128}\n$/);
    expect(`sha512-${sha512(tar)}`.startsWith(r.stdout.trim())).toBe(true);
    expect(`sha512-${sha512(rawTar(entries))}`.startsWith(r.stdout.trim())).toBe(false);
    const list = await h.world.run(['image', 'list', '--format', 'json']);
    const ids = (JSON.parse(list.stdout) as { id: string }[]).map((i) => i.id);
    expect(ids).toHaveLength(1);
    expect(`sha512-${sha512(tar)}`.startsWith(ids[0]!)).toBe(true);
    const files = fs.readdirSync(path.join(h.world.dir, 'tree'), { recursive: true }) as string[];
    const f = files.find((p) => p.endsWith(`${path.sep}rootfs${path.sep}f`));
    expect(fs.readFileSync(path.join(h.world.dir, 'tree', f!), 'utf8')).toBe('payload');
  });

  it('zero padding after the gzip stream imports as the same image', async () => {
    const tar = rawTar(entries);
    const file = path.join(h.world.base, 'padded.aci');
    fs.writeFileSync(file, Buffer.concat([zlib.gzipSync(tar), Buffer.alloc(10_240)]));
    const r = await h.world.run(['--insecure-options=image', 'fetch', '--full', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sha512-[0-9a-f]{64,128}\n$/);
    expect(`sha512-${sha512(tar)}`.startsWith(r.stdout.trim())).toBe(true);
  });
});
