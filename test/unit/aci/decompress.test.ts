import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompress, detectCompression, type Compression } from '../../../src/aci/decompress.js';
import { CapsuleError } from '../../../src/errors/capsule-error.js';
import { manifestJson, rawTar } from '../../helpers/images.js';

/** A real (uncompressed) tar of ~300 KiB with some incompressible content. */
const TAR = rawTar([
  { path: 'rootfs/', type: 'Directory' },
  { path: 'rootfs/text', body: 'hello\n'.repeat(20_000) },
  { path: 'rootfs/noise', body: Buffer.concat(Array.from({ length: 2000 }, (_, i) => createHash('sha512').update(String(i)).digest())) },
  { path: 'manifest', body: manifestJson('example.com/d') },
]);

/** Compressed with the host tools, as an image author would. */
const tool = (cmd: string, input: Buffer): Buffer => execFileSync(cmd, ['-c'], { input, maxBuffer: 64 * 1024 * 1024 });

const COMPRESSED: Record<Exclude<Compression, 'none'>, Buffer> = {
  gzip: tool('gzip', TAR),
  bzip2: tool('bzip2', TAR),
  xz: tool('xz', TAR),
};

/** Feeds `buf` in small chunks, as a file or network stream would. */
async function* chunks(buf: Buffer, size = 1000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield await Promise.resolve(new Uint8Array(buf.subarray(i, i + size)));
}

async function unpack(buf: Buffer, size?: number): Promise<{ out: Buffer; format: Compression | undefined }> {
  let format: Compression | undefined;
  const parts: Buffer[] = [];
  for await (const c of decompress(chunks(buf, size), (f) => (format = f))) parts.push(c);
  return { out: Buffer.concat(parts), format };
}

/** Command names of this process's live (not yet reaped) children, from /proc. */
function childCommands(): string[] {
  return fs.readdirSync('/proc').flatMap((pid) => {
    if (!/^\d+$/.test(pid)) return [];
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [, comm, rest] = /^\d+ \((.*)\) (.*)$/s.exec(stat) ?? [];
      const [state, ppid] = (rest ?? '').split(' ');
      return Number(ppid) === process.pid && state !== 'Z' ? [comm ?? ''] : [];
    } catch {
      return []; // exited meanwhile
    }
  });
}

async function failure(buf: Buffer): Promise<CapsuleError> {
  try {
    await unpack(buf);
  } catch (e) {
    expect(e).toBeInstanceOf(CapsuleError);
    expect((e as CapsuleError).code).toBe('bad-archive');
    return e as CapsuleError;
  }
  throw new Error('expected decompress to fail');
}

describe('detectCompression', () => {
  it.each<[string, Buffer, Compression]>([
    ['gzip', COMPRESSED.gzip, 'gzip'],
    ['bzip2', COMPRESSED.bzip2, 'bzip2'],
    ['xz', COMPRESSED.xz, 'xz'],
    ['plain tar', TAR, 'none'],
  ])('recognises %s by its first bytes', (_, buf, want) => {
    expect(detectCompression(buf.subarray(0, 512))).toBe(want);
  });

  it.each([
    ['zip', Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(600)])],
    ['zstd', Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(600)])],
    ['text', Buffer.from('this is not an image\n'.repeat(40))],
    ['a tar header cut before its magic', TAR.subarray(0, 200)],
    ['empty', Buffer.alloc(0)],
  ])('refuses %s', (_, buf) => {
    expect(() => detectCompression(buf)).toThrow(/^unknown image filetype \(not a tar, gzip, bzip2 or xz file\)$/);
  });
});

describe('decompress', () => {
  it.each<Exclude<Compression, 'none'>>(['gzip', 'bzip2', 'xz'])('%s made by the host tool gives back the tar', async (kind) => {
    const { out, format } = await unpack(COMPRESSED[kind]);
    expect(format).toBe(kind);
    expect(out.equals(TAR)).toBe(true);
  });

  it('passes a plain tar through unchanged', async () => {
    const { out, format } = await unpack(TAR, 333);
    expect(format).toBe('none');
    expect(out.equals(TAR)).toBe(true);
  });

  it('works when the first chunk is shorter than the magic', async () => {
    const { out, format } = await unpack(COMPRESSED.gzip, 1);
    expect(format).toBe('gzip');
    expect(out.equals(TAR)).toBe(true);
  });

  it('reads concatenated gzip members as one stream', async () => {
    const { out } = await unpack(Buffer.concat([zlib.gzipSync(TAR.subarray(0, 5000)), zlib.gzipSync(TAR.subarray(5000))]));
    expect(out.equals(TAR)).toBe(true);
  });

  it('refuses an unknown format before reading further', async () => {
    expect((await failure(Buffer.from('PK\x03\x04 definitely a zip file'.repeat(50)))).message).toMatch(/^unknown image filetype/);
  });

  it('reports a truncated gzip stream', async () => {
    expect((await failure(COMPRESSED.gzip.subarray(0, COMPRESSED.gzip.length - 100))).message).toBe('decompressing gzip: unexpected end of file');
  });

  it('reports corrupt gzip data', async () => {
    const bad = Buffer.from(COMPRESSED.gzip);
    bad.fill(0x55, 100, 400);
    expect((await failure(bad)).message).toMatch(/^decompressing gzip: /);
  });

  it.each<['bzip2' | 'xz', RegExp]>([
    ['bzip2', /^decompressing with \/usr\/bin\/bzip2: /],
    ['xz', /^decompressing with \/usr\/bin\/xz: /],
  ])('reports a truncated %s stream with the tool it ran (by absolute path)', async (kind, problem) => {
    const buf = COMPRESSED[kind];
    expect((await failure(buf.subarray(0, Math.floor(buf.length / 2)))).message).toMatch(problem);
  });

  it('a consumer that stops early, while the source stalls, does not hang and leaves no decompressor running', async () => {
    // 150 KiB of noise in 100k bzip2 blocks: the first block's output comes out, then the tool
    // waits on stdin for the rest, which never comes. Only a kill ends such a tool.
    const noise = Buffer.concat(Array.from({ length: (150 * 1024) / 64 }, (_, i) => createHash('sha512').update(String(i)).digest()));
    async function* stalling(buf: Buffer): AsyncGenerator<Uint8Array> {
      yield* chunks(buf, 64 * 1024);
      await new Promise(() => undefined);
    }
    const inputs = { gzip: zlib.gzipSync(noise), bzip2: execFileSync('bzip2', ['-1', '-c'], { input: noise }), xz: tool('xz', noise) };
    for (const kind of ['gzip', 'bzip2', 'xz'] as const) {
      const gen = decompress(stalling(inputs[kind]));
      const first = await gen.next();
      expect(first.done).toBe(false);
      await new Promise((r) => setTimeout(r, 100)); // let the tool write what it can and block on stdin
      await gen.return(undefined);
    }
    await new Promise((r) => setTimeout(r, 200)); // SIGKILL is delivered asynchronously
    expect(childCommands().filter((c) => c === 'bzip2' || c === 'xz')).toEqual([]);
  });
});
