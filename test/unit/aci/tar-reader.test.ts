import { Header } from 'tar';
import { describe, expect, it } from 'vitest';
import { readTar, type TarEntry } from '../../../src/aci/tar-reader.js';
import { encodeHeader, padding } from '../../../src/aci/tar-writer.js';
import { CapsuleError } from '../../../src/errors/capsule-error.js';
import { entry, meta, patched, pax, tarOf, typed } from '../../helpers/raw-tar.js';

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
    [{ uid: '-1' }, /^PAX header of "f" has an invalid uid "-1"$/],
    [{ gid: '4294967295' }, /^invalid owner 0:4294967295 for "f"$/],
    [{ uid: 'abc' }, /^PAX header of "f" has an invalid uid "abc"$/],
    [{ mtime: '1e30' }, /^PAX header of "f" has an invalid mtime "1e30"$/],
    [{ mtime: '99999999999999' }, /^PAX header of "f" has an invalid mtime "99999999999999"$/],
  ])('PAX value no file can have: %j', async (records, problem) => {
    expect((await failure(tarOf(meta('ExtendedHeader', pax(records)), entry({ path: 'f' }, 'hello')))).message).toMatch(problem);
  });

  it('PAX size beyond any real file (the ustar field left 0)', async () => {
    const tar = tarOf(meta('ExtendedHeader', pax({ size: '99999999999999999999' })), entry({ path: 'f' }, ''));
    expect((await failure(tar)).message).toBe('PAX header of "f" has an invalid size "99999999999999999999"');
  });

  it('PAX metadata larger than 1 MiB is refused before it is buffered', async () => {
    const h = Buffer.alloc(512);
    new Header({ path: 'PaxHeader/x', type: 'ExtendedHeader', size: 2 * 1024 * 1024, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }).encode(h, 0);
    expect((await failure(tarOf(h))).message).toMatch(/tar metadata entry too large \(2097152 bytes\)/);
  });
});

describe('readTar: one meaning for every byte (GNU tar, libarchive and Go read these differently)', () => {
  it('ustar size 0 with a PAX size: the entry body would be read as headers by one reader and as data by another (TARmageddon)', async () => {
    // The body is a complete header another reader would see as a second entry.
    const smuggled = encodeHeader({ path: 'rootfs/smuggled', type: 'File', mode: 0o644, size: 0 });
    const tar = tarOf(meta('ExtendedHeader', pax({ size: String(smuggled.length) })), encodeHeader({ path: 'rootfs/f', type: 'File', mode: 0o644, size: 0 }), smuggled);
    expect((await failure(tar)).message).toBe('inconsistent sizes for "rootfs/f": header 0, pax 512');
  });

  it('a GNU long name and a PAX path on the same entry', async () => {
    const tar = tarOf(meta('NextFileHasLongPath', 'rootfs/gnu-name\0'), meta('ExtendedHeader', pax({ path: 'rootfs/pax-name' })), entry({ path: 'rootfs/x' }, 'x'));
    expect((await failure(tar)).message).toBe('tar entry "rootfs/x" has both a GNU long name "rootfs/gnu-name" and a PAX path "rootfs/pax-name"');
  });

  it('a GNU long link name and a PAX linkpath on the same entry', async () => {
    const tar = tarOf(meta('NextFileHasLongLinkpath', 'a\0'), meta('ExtendedHeader', pax({ linkpath: 'b' })), entry({ path: 'rootfs/l', type: 'SymbolicLink', linkpath: 'c' }));
    expect((await failure(tar)).message).toBe('tar entry "rootfs/l" has both a GNU long link name and a PAX linkpath');
  });

  it.each([
    ['N', /^tar entry "rootfs\/x" is an old GNU long-name entry \(type N\)/],
    ['7', /^tar entry "rootfs\/x" is a contiguous file \(type 7\)/],
    ['S', /^tar entry "rootfs\/x" is a GNU sparse file \(type S\)/],
    ['X', /^tar entry "rootfs\/x" is a Solaris extended header \(type X\)/],
    ['q', /^tar entry "rootfs\/x" is of unknown type "q"/], // GNU tar and libarchive extract these as plain files
  ])('type %s entries', async (t, problem) => {
    expect((await failure(tarOf(typed(t), entry({ path: 'rootfs/y' }, 'y')))).message).toMatch(problem);
  });

  it.each(['path', 'linkpath', 'size'])('a global PAX header (g) that sets %s for every later entry', async (key) => {
    const tar = tarOf(meta('GlobalExtendedHeader', pax({ [key]: key === 'size' ? '1' : 'rootfs/renamed' })), entry({ path: 'rootfs/a' }, 'a'));
    expect((await failure(tar)).message).toBe(`global PAX header "PaxHeader/x" sets "${key}", which would apply to every later entry`);
  });

  it('a global PAX header with only a comment (what git archive writes) is fine', async () => {
    const tar = tarOf(meta('GlobalExtendedHeader', pax({ comment: '0123456789abcdef0123456789abcdef01234567' })), entry({ path: 'rootfs/a' }, 'a'));
    expect((await readAll(tar)).map((e) => e.path)).toEqual(['rootfs/a']);
  });

  it('a PAX record whose bytes are not UTF-8', async () => {
    const rec = Buffer.concat([Buffer.from(' path=rootfs/caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    const body = Buffer.concat([Buffer.from(String(rec.length + 2)), rec]);
    const tar = tarOf(meta('ExtendedHeader', body), entry({ path: 'rootfs/x' }, 'x'));
    expect((await failure(tar)).message).toBe('a record in the PAX header of "rootfs/x" is not valid UTF-8: "rootfs/café"');
  });

  it('binary xattr values (SCHILY.xattr.*) are allowed: Capsule ignores them', async () => {
    const rec = Buffer.concat([Buffer.from(' SCHILY.xattr.security.capability='), Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0xfe]), Buffer.from('\n')]);
    const body = Buffer.concat([Buffer.from(String(rec.length + 2)), rec]);
    expect((await readAll(tarOf(meta('ExtendedHeader', body), entry({ path: 'rootfs/x' }, 'x')))).map((e) => e.path)).toEqual(['rootfs/x']);
  });

  it('a NUL inside a PAX path (C readers cut it short)', async () => {
    const tar = tarOf(meta('ExtendedHeader', pax({ path: 'rootfs/ok\0/../../victim' })), entry({ path: 'rootfs/x' }, 'x'));
    expect((await failure(tar)).message).toBe('PAX header of "rootfs/x" path "rootfs/ok\\u0000/../../victim" contains a NUL byte');
  });

  it.each<[string, Buffer | string, RegExp]>([
    ['a record whose length runs past the header', '99 path=rootfs/a\n', /^malformed record in the PAX header of "rootfs\/x" \(at byte 0\): its length 99 does not end at a newline$/],
    ['a record without a length', 'path=rootfs/a\n', /^malformed record in the PAX header of "rootfs\/x" \(at byte 0\): no length$/],
    ['a record without "="', '10 pathxx\n', /^malformed record in the PAX header of "rootfs\/x": "pathxx"$/],
    ['trailing bytes after the last record', `${pax({ path: 'rootfs/a' })}\0\0`, /^malformed record in the PAX header of "rootfs\/x" \(at byte 17\): no length$/],
    ['a keyword given twice', pax({ path: 'rootfs/a' }) + pax({ path: 'rootfs/b' }), /^PAX header of "rootfs\/x" sets "path" twice$/],
    ['a GNU sparse map', pax({ 'GNU.sparse.size': '100' }), /^PAX header of "rootfs\/x" describes a GNU sparse file \(GNU.sparse.size\)/],
    ['a binary header charset', pax({ hdrcharset: 'BINARY' }), /^PAX header of "rootfs\/x" sets hdrcharset="BINARY"/],
    ['an empty path ("delete the field")', pax({ path: '' }), /^PAX header of "rootfs\/x" has an empty path$/],
  ])('%s', async (_what, body, problem) => {
    expect((await failure(tarOf(meta('ExtendedHeader', body), entry({ path: 'rootfs/x' }, 'x')))).message).toMatch(problem);
  });

  it('an empty PAX linkpath on a link whose header names a target', async () => {
    const tar = tarOf(meta('ExtendedHeader', pax({ linkpath: '' })), entry({ path: 'rootfs/l', type: 'SymbolicLink', linkpath: 'target' }));
    expect((await failure(tar)).message).toMatch(/^PAX header of "rootfs\/l" empties the link name "target"/);
  });

  it.each<[string, Buffer[], RegExp]>([
    ['two PAX headers for one entry', [meta('ExtendedHeader', pax({ path: 'rootfs/a' })), meta('ExtendedHeader', pax({ uid: '1' }))], /^two PAX headers for one tar entry/],
    ['two GNU long names for one entry', [meta('NextFileHasLongPath', 'rootfs/a\0'), meta('NextFileHasLongPath', 'rootfs/b\0')], /^two GNU long names for one tar entry$/],
    ['a global header between an entry and its PAX header', [meta('ExtendedHeader', pax({ path: 'rootfs/a' })), meta('GlobalExtendedHeader', pax({ uid: '1' }))], /^a global PAX header "PaxHeader\/x" sits between/],
  ])('%s', async (_what, metas, problem) => {
    expect((await failure(tarOf(...metas, entry({ path: 'rootfs/x' }, 'x')))).message).toMatch(problem);
  });

  it('metadata with no entry after it', async () => {
    expect((await failure(tarOf(meta('NextFileHasLongPath', 'rootfs/a\0')))).message).toMatch(/is not followed by the entry it describes/);
  });

  it.each([
    ['NUL inside', 'rootfs/ok\0../../victim\0', /^GNU long name "rootfs\/ok\\u0000..\/..\/victim" contains a NUL byte$/],
    ['not UTF-8', Buffer.from([0x72, 0xff, 0]), /^GNU long name "rÿ" is not valid UTF-8$/],
  ])('a GNU long name with a %s', async (_what, body, problem) => {
    expect((await failure(tarOf(meta('NextFileHasLongPath', body), entry({ path: 'rootfs/x' }, 'x')))).message).toMatch(problem);
  });

  it('a ustar name whose bytes are not UTF-8 (lossy decoding would merge distinct names)', async () => {
    const h = patched(encodeHeader({ path: 'rootfs/ab', type: 'File', mode: 0o644 }), [[8, Buffer.from([0xff])]]);
    expect((await failure(tarOf(h))).message).toBe('entry name of tar entry "rootfs/aÿ" is not valid UTF-8');
  });

  it.each([
    ['SymbolicLink', 'a symlink'],
    ['Link', 'a hardlink'],
    ['Directory', 'a directory'],
  ] as const)('%s claiming data (readers disagree whether it has any)', async (type, _what) => {
    const h = encodeHeader({ path: 'rootfs/l', type, linkpath: type === 'Directory' ? '' : 'rootfs/f', mode: 0o755, size: 700 });
    const tar = tarOf(h, Buffer.alloc(1024, 0x41), entry({ path: 'rootfs/f' }, 'ok'));
    expect((await failure(tar)).message).toBe(`tar entry "rootfs/l" (${type}) claims 700 bytes of data`);
  });

  it('a regular file (type 0) whose name ends in "/" (Go reads a file, GNU tar a directory)', async () => {
    expect((await failure(tarOf(typed('0', 'rootfs/d/')))).message).toBe('tar entry "rootfs/d/" is a regular file whose name ends in "/"');
  });

  it('an old-style (type \\0) entry whose name ends in "/" is a directory, as every reader agrees', async () => {
    expect((await readAll(tarOf(typed('\0', 'rootfs/d/')))).map((e) => [e.path, e.type])).toEqual([['rootfs/d/', 'directory']]);
  });

  it('a header magic no reader agrees on ("ustar\\0" with version "xx": GNU tar reads the prefix field, node-tar does not)', async () => {
    const h = patched(encodeHeader({ path: 'rootfs/x', type: 'File', mode: 0o644 }), [[263, 'xx'], [345, 'prefix']]);
    expect((await failure(tarOf(h))).message).toBe('unknown tar header format (magic "ustar\\u0000xx") for entry "rootfs/x"');
  });

  it('a ustar prefix field is joined to the name', async () => {
    const h = patched(encodeHeader({ path: 'x', type: 'File', mode: 0o644 }), [[345, 'rootfs/dir']]);
    expect((await readAll(tarOf(h))).map((e) => e.path)).toEqual(['rootfs/dir/x']);
  });

  it.each([
    ['digits then garbage (node-tar and libarchive read 1, GNU tar refuses)', '0000001x000\0'],
    ['a negative base-256 size', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])],
    ['a base-256 marker other than 0x80/0xff', Buffer.from([0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])],
  ])('a size field with %s', async (_what, field) => {
    const h = patched(encodeHeader({ path: 'rootfs/x', type: 'File', mode: 0o644 }), [[124, field]]);
    expect((await failure(tarOf(h))).message).toBe('invalid size field in the tar header of "rootfs/x"');
  });

  it('a base-256 size (what GNU tar writes past 8 GiB) is read', async () => {
    const field = Buffer.alloc(12);
    field[0] = 0x80;
    field[11] = 3;
    const h = patched(encodeHeader({ path: 'rootfs/x', type: 'File', mode: 0o644 }), [[124, field]]);
    expect((await readAll(tarOf(h, Buffer.from('abc'), padding(3)))).map((e) => [e.path, e.data])).toEqual([['rootfs/x', 'abc']]);
  });
});
