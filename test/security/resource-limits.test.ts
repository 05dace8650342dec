// Resource exhaustion through archive shape: very long names (PAX and GNU), deep nesting, a
// gzip bomb (CVE-2017-14992 class) and oversized tar metadata. Each must fail fast with a
// limit error, leave the victim directory beside the store untouched and store nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Header } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { END_OF_ARCHIVE, encodeHeader, padding } from '../../src/aci/tar-writer.js';
import { useVictimWorld } from '../helpers/victim-world.js';
import { manifestJson, simpleAci, type RawEntry } from '../helpers/images.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

const h = useVictimWorld();
const { expectRefusal, fetchHostile } = h;

/** A PAX extended header ("x") or GNU long-name ("L") entry carrying `body`. */
function metaEntry(type: 'ExtendedHeader' | 'NextFileHasLongPath', body: Buffer): Buffer {
  const h = Buffer.alloc(512);
  new Header({ path: type === 'ExtendedHeader' ? 'PaxHeader/x' : '././@LongLink', type, size: body.length, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }).encode(h, 0);
  return Buffer.concat([h, body, padding(body.length)]);
}

/** `rootfs/`, the given raw tar pieces, a manifest, end of archive; gzip-compressed. */
function aciWith(...pieces: Buffer[]): Buffer {
  const m = Buffer.from(manifestJson('example.com/hostile'));
  const manifest = Buffer.concat([encodeHeader({ path: 'manifest', type: 'File', mode: 0o644, size: m.length }), m, padding(m.length)]);
  return zlib.gzipSync(Buffer.concat([encodeHeader({ path: 'rootfs/', type: 'Directory', mode: 0o755 }), ...pieces, manifest, END_OF_ARCHIVE]));
}

describe('very long names', () => {
  it('entry name longer than 4096 bytes via a PAX path record', async () => {
    const long = `rootfs/${'d234567/'.repeat(600)}f`;
    const image = simpleAci('example.com/hostile', [{ path: long, body: 'x' }]);
    expect(zlib.gunzipSync(image).includes(` path=${long}\n`)).toBe(true); // it really travels in a PAX record
    const { r, before } = await fetchHostile(image);
    await expectRefusal(r, before, /entry name "rootfs\/d234567\/.*…" is longer than 4096 bytes/);
  });

  it('entry name longer than 4096 bytes via a GNU long-name entry', async () => {
    const long = `rootfs/${'d234567/'.repeat(600)}f`;
    const file = Buffer.concat([encodeHeader({ path: 'rootfs/short', type: 'File', mode: 0o644, size: 1 }), Buffer.from('x'), padding(1)]);
    const { r, before } = await fetchHostile(aciWith(metaEntry('NextFileHasLongPath', Buffer.from(`${long}\0`)), file));
    await expectRefusal(r, before, /entry name "rootfs\/d234567\/.*…" is longer than 4096 bytes/);
  });

  it('path component longer than 255 bytes', async () => {
    const { r, before } = await fetchHostile([{ path: `rootfs/${'a'.repeat(256)}`, body: 'x' }]);
    await expectRefusal(r, before, /entry name "rootfs\/a+.*" has a component longer than 255 bytes/);
  });

  it('symlink target longer than 4096 bytes', async () => {
    const { r, before } = await fetchHostile([{ path: 'rootfs/l', type: 'SymbolicLink', linkpath: 'x/'.repeat(2100) }]);
    await expectRefusal(r, before, /symlink "rootfs\/l" has an empty or too long target/);
  });
});

describe('deep nesting', () => {
  it('one entry nested more than 128 levels deep', async () => {
    const { r, before } = await fetchHostile([{ path: `rootfs/${'a/'.repeat(130)}f`, body: 'x' }]);
    await expectRefusal(r, before, /entry name "rootfs\/a\/a\/.*" is nested deeper than 128 levels/);
  });

  it('directories added one level at a time past 128 levels', async () => {
    const dirs: RawEntry[] = Array.from({ length: 140 }, (_, i) => ({ path: `rootfs/${'d/'.repeat(i + 1)}`, type: 'Directory' as const }));
    const { r, before } = await fetchHostile(dirs);
    await expectRefusal(r, before, /is nested deeper than 128 levels/);
  });
});

describe('gzip bomb', () => {
  let dir: string;
  let bomb: string;

  // ~1 GiB of zeros in one file, gzip-compressed while streaming (never 1 GiB in memory): ~1 MB on disk.
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-bomb-'));
    bomb = path.join(dir, 'bomb.aci');
    // eslint-disable-next-line @typescript-eslint/require-await -- an async generator so Readable.from streams it with backpressure
    async function* tar(): AsyncGenerator<Buffer> {
      yield encodeHeader({ path: 'rootfs/', type: 'Directory', mode: 0o755 });
      yield encodeHeader({ path: 'rootfs/zeros', type: 'File', mode: 0o644, size: GiB });
      const zeros = Buffer.alloc(MiB);
      for (let i = 0; i < GiB / MiB; i++) yield zeros;
      const m = Buffer.from(manifestJson('example.com/bomb'));
      yield Buffer.concat([encodeHeader({ path: 'manifest', type: 'File', mode: 0o644, size: m.length }), m, padding(m.length), END_OF_ARCHIVE]);
    }
    await pipeline(Readable.from(tar()), zlib.createGzip({ level: 9 }), fs.createWriteStream(bomb));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('1 GiB of zeros in ~1 MB fails with a size-limit error long before it is all unpacked', async () => {
    const compressed = fs.statSync(bomb).size;
    expect(compressed).toBeLessThan(2 * MiB);
    const image = fs.readFileSync(bomb);
    const started = Date.now();
    const { r, before } = await fetchHostile(image);
    const elapsed = Date.now() - started;
    await expectRefusal(r, before, /image expands more than 200x \(\d+ bytes from \d+ compressed\): refusing a decompression bomb/);
    const [, unpacked] = /\((\d+) bytes from/.exec(r.stderr)!;
    expect(Number(unpacked)).toBeLessThan(GiB / 2);
    expect(elapsed).toBeLessThan(30_000);
  });
});

describe('oversized tar metadata', () => {
  it('PAX extended header of 2 MiB', async () => {
    const record = (k: string, v: string): string => {
      const line = ` ${k}=${v}\n`; // "<length> key=value\n", the length counting its own digits
      let n = line.length;
      while (n !== line.length + String(n).length) n = line.length + String(n).length;
      return `${n}${line}`;
    };
    const pax = metaEntry('ExtendedHeader', Buffer.from(record('comment', 'x'.repeat(2 * MiB))));
    const file = Buffer.concat([encodeHeader({ path: 'rootfs/f', type: 'File', mode: 0o644, size: 1 }), Buffer.from('x'), padding(1)]);
    const { r, before } = await fetchHostile(aciWith(pax, file));
    await expectRefusal(r, before, /tar metadata entry too large \(\d+ bytes\)/);
  });
});
