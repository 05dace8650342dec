/**
 * gunzipInWorker in process: a real worker thread, real zlib. What it yields, hashes and writes
 * must equal a plain gunzip; broken input, a failing source and an early stop must end cleanly.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gunzipInWorker } from '../../../src/aci/gunzip-worker.js';

let dir: string;
let fd: number;
let blob: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-gunzip-worker-'));
  blob = path.join(dir, 'blob');
  fd = fs.openSync(blob, 'wx', 0o600);
});
afterEach(() => {
  fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** ~6 MiB: random blocks (incompressible) and runs of one byte (very compressible), so chunk sizes vary. */
const PLAIN = Buffer.concat(Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? Buffer.alloc(256 * 1024, i) : randomBytes(256 * 1024 + i * 7))));
const GZ = zlib.gzipSync(PLAIN);

async function* chunked(buf: Buffer, size: number, fail?: Error): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) {
    if (fail && i >= buf.length / 2) throw fail;
    yield await Promise.resolve(buf.subarray(i, i + size));
  }
}

describe('gunzipInWorker', () => {
  it('yields the uncompressed bytes in order, hashes them and writes them to the blob', async () => {
    for (const size of [1000, 300 * 1024, 2 * 1024 * 1024]) {
      fs.closeSync(fd);
      fs.rmSync(blob);
      fd = fs.openSync(blob, 'wx', 0o600);
      const w = gunzipInWorker(chunked(GZ, size), { blobFd: fd, inputWindow: 512 * 1024, outputWindow: 2 });
      const parts: Buffer[] = [];
      for await (const c of w.chunks) parts.push(Buffer.from(c));
      expect(Buffer.compare(Buffer.concat(parts), PLAIN), `chunks of ${size}`).toBe(0);
      expect(await w.result()).toEqual({ sha512: createHash('sha512').update(PLAIN).digest('hex'), size: PLAIN.length });
      expect(Buffer.compare(fs.readFileSync(blob), PLAIN)).toBe(0);
    }
  });

  it('a slow reader holds the worker back instead of letting the output pile up', async () => {
    const w = gunzipInWorker(chunked(GZ, 64 * 1024), { blobFd: fd, outputWindow: 2 });
    const it = w.chunks[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    // Paused by the window: far from the whole output has reached the blob meanwhile.
    expect(fs.fstatSync(fd).size).toBeLessThan(PLAIN.length / 2);
    let n = (first.value as Buffer).length;
    for (let r = await it.next(); !r.done; r = await it.next()) n += r.value.length;
    expect(n).toBe(PLAIN.length);
  });

  it('a broken gzip stream is a bad-archive error', async () => {
    const broken = Buffer.from(GZ);
    for (let i = Math.floor(broken.length / 2); i < Math.floor(broken.length / 2) + 64; i++) broken.writeUInt8(broken.readUInt8(i) ^ 0x5a, i);
    const w = gunzipInWorker(chunked(broken, 128 * 1024), { blobFd: fd });
    const read = async (): Promise<void> => {
      for await (const _ of w.chunks) {
        /* read on */
      }
    };
    await expect(read()).rejects.toThrow(/^decompressing gzip: /);
    await expect(w.result()).rejects.toThrow(/before the stream was read to its end/);
  });

  it("the source's own error passes through unchanged", async () => {
    const cut = new Error('the transfer broke off');
    const w = gunzipInWorker(chunked(GZ, 128 * 1024, cut), { blobFd: fd });
    const read = async (): Promise<void> => {
      for await (const _ of w.chunks) {
        /* read on */
      }
    };
    await expect(read()).rejects.toBe(cut);
  });

  it('stops the worker when the reader leaves early, and stop() settles', async () => {
    const w = gunzipInWorker(chunked(GZ, 128 * 1024), { blobFd: fd });
    for await (const _ of w.chunks) break;
    await w.stop();
    await expect(w.result()).rejects.toThrow();
  });
});
