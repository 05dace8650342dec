/** Which path a tar takes (worker or this thread), and that both enforce the decompression-bomb limits. */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorChain, messageOf } from '../../../src/errors/capsule-error.js';
import { openTarIntake } from '../../../src/fetch/tar-intake.js';
import { DEFAULT_SIZE_LIMITS } from '../../../src/aci/size-limits.js';
import { manifestJson, rawTar } from '../../helpers/images.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-tar-intake-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const TAR = rawTar([
  { path: 'rootfs/', type: 'Directory' },
  { path: 'rootfs/noise', body: randomBytes(700 * 1024) },
  { path: 'rootfs/zeros', body: Buffer.alloc(3 * 1024 * 1024) },
  { path: 'manifest', body: manifestJson('example.com/intake') },
]);

async function* once(buf: Buffer): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += 100_000) yield await Promise.resolve(buf.subarray(i, i + 100_000));
}

async function drain(bytes: Buffer, o: { workerMinBytes: number; sizeHint?: number | undefined; limits?: typeof DEFAULT_SIZE_LIMITS }): Promise<{ out: Buffer; sha512: string; size: number; blob: Buffer }> {
  const blobFile = path.join(dir, `blob-${Math.random()}`);
  let compressed = 0;
  const counted = (async function* () {
    for await (const c of once(bytes)) {
      compressed += c.length;
      yield c;
    }
  })();
  const t = await openTarIntake(counted, { blobFile, limits: o.limits ?? DEFAULT_SIZE_LIMITS, compressedSoFar: () => compressed, sizeHint: 'sizeHint' in o ? o.sizeHint : bytes.length, workerMinBytes: o.workerMinBytes });
  const parts: Buffer[] = [];
  try {
    for await (const c of t.chunks) parts.push(Buffer.from(c));
  } catch (e) {
    await t.abort();
    throw e;
  }
  const r = await t.finish();
  return { out: Buffer.concat(parts), ...r, blob: fs.readFileSync(blobFile) };
}

const sha512 = (b: Buffer): string => createHash('sha512').update(b).digest('hex');

describe('openTarIntake', () => {
  for (const [label, workerMinBytes] of [['in a worker', 0], ['in this thread', Number.MAX_SAFE_INTEGER]] as const) {
    it(`gzip ${label}: the tar, its SHA-512 and the blob`, async () => {
      const r = await drain(zlib.gzipSync(TAR), { workerMinBytes });
      expect(Buffer.compare(r.out, TAR)).toBe(0);
      expect(Buffer.compare(r.blob, TAR)).toBe(0);
      expect(r).toMatchObject({ sha512: sha512(TAR), size: TAR.length });
    });

    it(`gzip ${label}: a decompression bomb is refused while streaming`, async () => {
      const limits = { ...DEFAULT_SIZE_LIMITS, maxRatio: 2, ratioAllowance: 1024 * 1024 };
      const e = await drain(zlib.gzipSync(TAR), { workerMinBytes, limits }).then(() => undefined, (x: unknown) => x);
      expect(errorChain(e).map(messageOf).join(' | ')).toMatch(/expands more than 2x .*refusing a decompression bomb/);
    });
  }

  it('a plain tar, and a gzip of unknown size (never sent to a worker), give the same result', async () => {
    expect(await drain(TAR, { workerMinBytes: 0 })).toMatchObject({ sha512: sha512(TAR), size: TAR.length });
    const unknown = await drain(zlib.gzipSync(TAR), { workerMinBytes: 0, sizeHint: undefined });
    expect(unknown.sha512).toBe(sha512(TAR));
  });
});
