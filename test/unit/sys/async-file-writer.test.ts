import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AsyncFileWriter } from '../../../src/sys/async-file-writer.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-oc4-afw-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Chunks of uneven sizes (network-like: a few bytes to 40 KiB), about `total` bytes in all. */
function chunks(total: number): Buffer[] {
  const out: Buffer[] = [];
  for (let n = 0; n < total; ) {
    const c = crypto.randomBytes(1 + crypto.randomInt(40 * 1024));
    out.push(c);
    n += c.length;
  }
  return out;
}

describe('AsyncFileWriter: gathered writes, in order', () => {
  it('writes many small buffers as one file with their bytes in order', async () => {
    const parts = chunks(5 * 1024 * 1024);
    const seen: number[] = [];
    const f = path.join(dir, 'blob');
    const w = await AsyncFileWriter.create(f, 0o600, 4, (n) => seen.push(n));
    for (const p of parts) await w.write(p);
    await w.finish(true);
    const want = Buffer.concat(parts);
    expect(fs.readFileSync(f).equals(want)).toBe(true);
    // The written mark only grows and ends at the file's size; it moved more than once on the way.
    expect(seen.at(-1)).toBe(want.length);
    expect(seen.length).toBeGreaterThan(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    expect((fs.statSync(f).mode & 0o777).toString(8)).toBe('600');
  });

  it('resumes a file after its first bytes, overwriting what followed them', async () => {
    const f = path.join(dir, 'partial');
    fs.writeFileSync(f, Buffer.concat([Buffer.from('keep-'), Buffer.from('garbage that a cut transfer left')]));
    const w = await AsyncFileWriter.resume(f, 5);
    expect(w.bytesWritten).toBe(5);
    await w.write(Buffer.from('rest'));
    expect(w.bytesQueued).toBe(9);
    await w.finish(false);
    expect(fs.readFileSync(f, 'utf8')).toBe('keep-rest');
  });

  it('abort still writes what was queued (a cut download keeps every byte it received)', async () => {
    const f = path.join(dir, 'cut');
    const w = await AsyncFileWriter.create(f);
    await w.write(Buffer.from('received before the cut'));
    await w.abort();
    expect(fs.readFileSync(f, 'utf8')).toBe('received before the cut');
    expect(w.bytesWritten).toBe(23);
  });

  it('refuses to create over an existing file', async () => {
    const f = path.join(dir, 'there');
    fs.writeFileSync(f, 'x');
    await expect(AsyncFileWriter.create(f)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(f, 'utf8')).toBe('x');
  });
});
