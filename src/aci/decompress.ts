import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { CapsuleError } from '../errors/capsule-error.js';

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz';

/** Detects the compression by content (appc: gzip, bzip2, xz, or a plain tar), never by name. */
export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'none';
  throw new CapsuleError('bad-archive', 'unknown image filetype (not a tar, gzip, bzip2 or xz file)');
}

/** Host decompressors by absolute path, never from an image (CVE-2014-9357). zstd is for OCI layers only (appc has none). */
const TOOLS: Record<'bzip2' | 'xz' | 'zstd', string> = { bzip2: '/usr/bin/bzip2', xz: '/usr/bin/xz', zstd: '/usr/bin/zstd' };

/** A stream compression an OCI layer may use. */
export type LayerCompression = 'none' | 'gzip' | 'zstd';

/**
 * An OCI layer's compression by content: gzip, zstd, or a plain tar (ustar magic, or a zero block:
 * an empty layer). Anything else is refused.
 */
export function detectLayerCompression(head: Buffer): LayerCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'none';
  if (head.length >= 512 && head.subarray(0, 512).every((b) => b === 0)) return 'none';
  throw new CapsuleError('bad-archive', 'unknown layer format (not a tar, gzip or zstd stream)');
}

async function peek(it: AsyncIterator<Uint8Array>, n: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  let len = 0;
  while (len < n) {
    const r = await it.next();
    if (r.done) break;
    const b = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    got.push(b);
    len += b.length;
  }
  return got;
}

/** Reads enough of `source` to detect its format; `stream` replays those bytes, then the rest. */
export async function sniffCompression(source: AsyncIterable<Uint8Array>): Promise<{ kind: Compression; stream: AsyncIterable<Uint8Array> }> {
  return sniffWith(source, detectCompression);
}

/** Like sniffCompression, with another detector (OCI layers: detectLayerCompression). */
export async function sniffWith<K>(source: AsyncIterable<Uint8Array>, detect: (head: Buffer) => K): Promise<{ kind: K; stream: AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  const head = await peek(it, 512);
  const kind = detect(Buffer.concat(head));
  const stream: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      let i = 0;
      return { next: async () => (i < head.length ? { done: false, value: head[i++]! } : it.next()) };
    },
  };
  return { kind, stream };
}

/** Decompresses a stream whose format is detected from its first bytes. */
export async function* decompress(source: AsyncIterable<Uint8Array>, onFormat?: (c: Compression) => void): AsyncGenerator<Buffer> {
  const { kind, stream: rest } = await sniffCompression(source);
  onFormat?.(kind);
  yield* decompressAs(kind, rest);
}

/** Decompresses `rest` (whose format the caller detected) as `kind`. */
export async function* decompressAs(kind: Compression | LayerCompression, rest: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  // An error of the source (a network transfer, a signature stream) is passed on as it is, never
  // reported as a broken archive.
  const failed: { error: Error | undefined } = { error: undefined };
  // Only errors of reading the source count: Readable.from() also throws a decompressor's own
  // error into this generator when it tears the pipeline down.
  const watched = (async function* () {
    const src = rest[Symbol.asyncIterator]();
    for (;;) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await src.next();
      } catch (e) {
        failed.error = e instanceof Error ? e : new Error(String(e));
        throw failed.error;
      }
      if (r.done) return;
      yield r.value;
    }
  })();
  if (kind === 'none') {
    for await (const c of watched) yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    return;
  }
  if (kind === 'gzip') {
    const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
    const feed = pipeline(Readable.from(watched), gunzip).catch((e: unknown) => {
      gunzip.destroy(e as Error);
    });
    try {
      for await (const c of gunzip) yield c as Buffer;
    } catch (e) {
      if (failed.error !== undefined) throw failed.error;
      throw new CapsuleError('bad-archive', `decompressing gzip: ${(e as Error).message}`);
    } finally {
      gunzip.destroy();
      await feed;
    }
    return;
  }
  yield* external(TOOLS[kind], watched, failed);
}

async function* external(tool: string, input: AsyncIterable<Uint8Array>, source: { error: Error | undefined }): AsyncGenerator<Buffer> {
  const child = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  const feed = pipeline(Readable.from(input), child.stdin).catch(() => {
    /* the tool's exit status reports the failure */
  });
  try {
    for await (const c of child.stdout) yield c as Buffer;
    const code = await exited;
    await feed;
    if (source.error !== undefined) throw source.error;
    if (code !== 0) throw new CapsuleError('bad-archive', `decompressing with ${tool}: ${stderr.trim() || `exit status ${code}`}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
