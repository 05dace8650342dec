import { Header } from 'tar';
import { describe, expect, it } from 'vitest';
import { readTar, type TarEntry } from '../../../src/aci/tar-reader.js';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeaderFields } from '../../../src/aci/tar-writer.js';
import { CapsuleError } from '../../../src/errors/capsule-error.js';

type MetaType = 'ExtendedHeader' | 'GlobalExtendedHeader' | 'NextFileHasLongPath' | 'NextFileHasLongLinkpath';

/** A header (plus body and padding) exactly as given; PAX is added by encodeHeader only when needed. */
function entry(f: Partial<TarHeaderFields> & { path: string }, body = ''): Buffer {
  const type = f.type ?? 'File';
  const b = Buffer.from(body);
  return Buffer.concat([encodeHeader({ mode: 0o644, ...f, type, size: f.size ?? (type === 'File' ? b.length : 0) }), b, padding(b.length)]);
}

/** A PAX ("x"/"g") or GNU long-name ("L"/"K") metadata entry. */
function meta(type: MetaType, body: Buffer | string): Buffer {
  const b = Buffer.from(body);
  const h = Buffer.alloc(512);
  new Header({ path: type.startsWith('Next') ? '././@LongLink' : 'PaxHeader/x', type, size: b.length, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }).encode(h, 0);
  return Buffer.concat([h, b, padding(b.length)]);
}

/** PAX records: "<len> key=value\n", the length counting its own digits. */
function pax(records: Record<string, string>): string {
  return Object.entries(records)
    .map(([k, v]) => {
      const line = ` ${k}=${v}\n`;
      let n = Buffer.byteLength(line);
      while (n !== Buffer.byteLength(line) + String(n).length) n = Buffer.byteLength(line) + String(n).length;
      return `${n}${line}`;
    })
    .join('');
}

/** Feeds `buf` in awkward chunk sizes so every read crosses chunk boundaries. */
async function* chunked(buf: Buffer, sizes = [1, 7, 511, 513, 100, 4096]): AsyncGenerator<Buffer> {
  let off = 0;
  for (let i = 0; off < buf.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield buf.subarray(off, off + n);
    off += n;
    await Promise.resolve();
  }
}

interface Seen { path: string; type: string; size: number; linkpath: string; uid: number; mtime: number; data: string }

async function readAll(tar: Buffer, consume: (e: TarEntry, i: number) => Promise<string> = drain): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const e of readTar(chunked(tar))) {
    out.push({ path: e.path, type: e.type, size: e.size, linkpath: e.linkpath, uid: e.uid, mtime: e.mtime.getTime(), data: await consume(e, out.length) });
  }
  return out;
}

async function drain(e: TarEntry): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of e.data) parts.push(c);
  return Buffer.concat(parts).toString();
}

async function failure(tar: Buffer): Promise<CapsuleError> {
  try {
    await readAll(tar);
  } catch (e) {
    expect(e).toBeInstanceOf(CapsuleError);
    expect((e as CapsuleError).code).toBe('bad-archive');
    return e as CapsuleError;
  }
  throw new Error('expected readTar to fail');
}

const tarOf = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, END_OF_ARCHIVE]);

describe('readTar: ustar basics', () => {
  it('reads files, directories, symlinks and hardlinks with their metadata', async () => {
    const got = await readAll(
      tarOf(
        entry({ path: 'rootfs/', type: 'Directory', mode: 0o755 }),
        entry({ path: 'rootfs/f', uid: 1000, gid: 100, mtime: new Date(1_600_000_000_000) }, 'hello'),
        entry({ path: 'rootfs/l', type: 'SymbolicLink', linkpath: 'f' }),
        entry({ path: 'rootfs/h', type: 'Link', linkpath: 'rootfs/f' }),
      ),
    );
    expect(got).toEqual([
      { path: 'rootfs/', type: 'directory', size: 0, linkpath: '', uid: 0, mtime: 0, data: '' },
      { path: 'rootfs/f', type: 'file', size: 5, linkpath: '', uid: 1000, mtime: 1_600_000_000_000, data: 'hello' },
      { path: 'rootfs/l', type: 'symlink', size: 0, linkpath: 'f', uid: 0, mtime: 0, data: '' },
      { path: 'rootfs/h', type: 'hardlink', size: 0, linkpath: 'rootfs/f', uid: 0, mtime: 0, data: '' },
    ]);
  });

  it('stops at the end-of-archive marker and does not parse what follows', async () => {
    const tar = Buffer.concat([tarOf(entry({ path: 'a' }, 'x')), Buffer.from('trailing garbage that is not a header'.repeat(20))]);
    expect((await readAll(tar)).map((e) => e.path)).toEqual(['a']);
  });
});

describe('readTar: long names', () => {
  const long = `rootfs/${'d'.repeat(150)}/${'e'.repeat(150)}/file`;
  const target = `../${'t'.repeat(300)}`;

  it('PAX path and linkpath replace the truncated ustar fields, for the next entry only', async () => {
    const tar = tarOf(entry({ path: long }, 'body'), entry({ path: 'rootfs/l', type: 'SymbolicLink', linkpath: target }), entry({ path: 'rootfs/after' }, 'x'));
    expect(tar.includes(` path=${long}\n`)).toBe(true);
    const got = await readAll(tar);
    expect(got.map((e) => [e.path, e.linkpath, e.data])).toEqual([
      [long, '', 'body'],
      ['rootfs/l', target, ''],
      ['rootfs/after', '', 'x'],
    ]);
  });

  it('a PAX path overrides a harmless-looking ustar name (the policy must see the PAX one)', async () => {
    const tar = tarOf(meta('ExtendedHeader', pax({ path: 'rootfs/../../victim/x' })), entry({ path: 'rootfs/harmless' }, 'x'));
    expect((await readAll(tar))[0]!.path).toBe('rootfs/../../victim/x');
  });

  it('GNU long path (L) and long link (K) apply to the next entry only', async () => {
    const tar = tarOf(
      meta('NextFileHasLongPath', `${long}\0`),
      entry({ path: long.slice(0, 99) }, 'gnu'),
      meta('NextFileHasLongLinkpath', `${target}\0`),
      meta('NextFileHasLongPath', 'rootfs/gnu-link\0'),
      entry({ path: 'ignored', type: 'SymbolicLink', linkpath: 'ignored' }),
      entry({ path: 'rootfs/plain' }, 'p'),
    );
    const got = await readAll(tar);
    expect(got.map((e) => [e.path, e.type, e.linkpath, e.data])).toEqual([
      [long, 'file', '', 'gnu'],
      ['rootfs/gnu-link', 'symlink', target, ''],
      ['rootfs/plain', 'file', '', 'p'],
    ]);
  });

  it('a global PAX header applies to every later entry; a per-entry one wins for its entry', async () => {
    const tar = tarOf(
      meta('GlobalExtendedHeader', pax({ uid: '4242' })),
      entry({ path: 'a' }, '1'),
      meta('ExtendedHeader', pax({ uid: '7' })),
      entry({ path: 'b' }, '2'),
      meta('ExtendedHeader', pax({ path: 'long-d' })), // sets only the path: the global uid still applies
      entry({ path: 'd' }, '4'),
      entry({ path: 'c' }, '3'),
    );
    expect((await readAll(tar)).map((e) => [e.path, e.uid])).toEqual([
      ['a', 4242],
      ['b', 7],
      ['long-d', 4242],
      ['c', 4242],
    ]);
  });
});

describe('readTar: alignment', () => {
  const big = 'A'.repeat(10_000);
  const tar = tarOf(entry({ path: 'big' }, big), entry({ path: 'next' }, 'next data'), entry({ path: 'last' }, 'z'.repeat(513)));

  it('reading only part of an entry keeps the next header aligned', async () => {
    const got = await readAll(tar, async (e, i) => {
      if (i !== 0) return drain(e);
      for await (const c of e.data) return c.toString(); // first chunk only
      return '';
    });
    expect(got[0]!.data.length).toBeGreaterThan(0);
    expect(got[0]!.data.length).toBeLessThan(big.length);
    expect(big.startsWith(got[0]!.data)).toBe(true);
    expect(got.slice(1).map((e) => [e.path, e.data])).toEqual([
      ['next', 'next data'],
      ['last', 'z'.repeat(513)],
    ]);
  });

  it('not reading an entry at all skips its data and padding', async () => {
    const got = await readAll(tar, (e) => (e.path === 'big' ? Promise.resolve('') : drain(e)));
    expect(got.map((e) => [e.path, e.data])).toEqual([
      ['big', ''],
      ['next', 'next data'],
      ['last', 'z'.repeat(513)],
    ]);
  });

  it('bytes claimed by a link are skipped, never yielded', async () => {
    const link = Buffer.concat([encodeHeader({ path: 'l', type: 'SymbolicLink', linkpath: 'f', mode: 0o777, size: 700 }), Buffer.alloc(1024, 0x41)]);
    const got = await readAll(tarOf(link, entry({ path: 'f' }, 'ok')));
    expect(got.map((e) => [e.path, e.size, e.data])).toEqual([
      ['l', 0, ''],
      ['f', 2, 'ok'],
    ]);
  });

  it('a directory has no body whatever its size field says (as node-tar and its Header codec)', async () => {
    const dir = encodeHeader({ path: 'd/', type: 'Directory', mode: 0o755, size: 700 });
    const got = await readAll(tarOf(dir, entry({ path: 'f' }, 'ok')));
    expect(got.map((e) => [e.path, e.size, e.data])).toEqual([
      ['d/', 0, ''],
      ['f', 2, 'ok'],
    ]);
  });
});

describe('readTar: malformed archives', () => {
  it('bad header checksum', async () => {
    const tar = tarOf(entry({ path: 'a' }, 'x'));
    tar[0] = tar[0]! ^ 0x01;
    expect((await failure(tar)).message).toBe('invalid tar header checksum');
  });

  it('no end-of-archive marker', async () => {
    expect((await failure(entry({ path: 'a' }, 'x'))).message).toMatch(/no end-of-archive marker/);
  });

  it('cut inside a header', async () => {
    expect((await failure(tarOf(entry({ path: 'a' }, 'x')).subarray(0, 1024 + 100))).message).toMatch(/unexpected end of archive \(wanted 512 bytes, have 100\)/);
  });

  it('cut inside an entry body', async () => {
    expect((await failure(entry({ path: 'a' }, 'x'.repeat(5000)).subarray(0, 2048))).message).toMatch(/unexpected end of archive inside an entry/);
  });

  it('cut inside a PAX header body', async () => {
    expect((await failure(meta('ExtendedHeader', pax({ path: 'x'.repeat(2000) })).subarray(0, 1024))).message).toMatch(/unexpected end of archive/);
  });

  it.each([
    ['7', 'inconsistent sizes for "f": header 5, pax 7'],
    ['3', 'inconsistent sizes for "f": header 5, pax 3'],
  ])('PAX size %s disagreeing with the ustar size', async (size, message) => {
    expect((await failure(tarOf(meta('ExtendedHeader', pax({ size })), entry({ path: 'f' }, 'hello')))).message).toBe(message);
  });

  it.each([
    [{ uid: '-1' }, /^invalid owner -1:0 for "f"$/],
    [{ gid: '4294967295' }, /^invalid owner 0:4294967295 for "f"$/],
    [{ uid: 'abc' }, /^invalid owner NaN:0 for "f"$/],
    [{ mtime: '1e30' }, /^invalid modification time for "f"$/],
  ])('PAX value no file can have: %j', async (records, problem) => {
    expect((await failure(tarOf(meta('ExtendedHeader', pax(records)), entry({ path: 'f' }, 'hello')))).message).toMatch(problem);
  });

  it('PAX size beyond any real file (the ustar field left 0)', async () => {
    const tar = tarOf(meta('ExtendedHeader', pax({ size: '99999999999999999999' })), entry({ path: 'f' }, ''));
    expect((await failure(tar)).message).toBe('invalid size for "f"');
  });

  it('PAX metadata larger than 1 MiB is refused before it is buffered', async () => {
    const h = Buffer.alloc(512);
    new Header({ path: 'PaxHeader/x', type: 'ExtendedHeader', size: 2 * 1024 * 1024, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }).encode(h, 0);
    expect((await failure(tarOf(h))).message).toMatch(/tar metadata entry too large \(2097152 bytes\)/);
  });
});
