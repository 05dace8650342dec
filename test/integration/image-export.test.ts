import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { sampleImage, simpleAci } from '../helpers/images.js';
import { expectedId, fetchInsecure, key64, writeImage } from '../helpers/store-check.js';

describe('capsule image export', () => {
  let w: World;
  let busybox: Buffer;
  let id: string;
  beforeAll(async () => {
    w = makeWorld();
    busybox = fs.readFileSync(sampleImage('busybox'));
    id = expectedId(busybox);
    const r = await fetchInsecure(w, [writeImage(w, 'busybox.aci', busybox)]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => w.cleanup());

  it('writes the uncompressed ACI, byte-identical to the original tar', async () => {
    const out = path.join(w.base, 'exported.aci');
    const r = await w.run(['image', 'export', id.slice(0, 16), out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const exported = fs.readFileSync(out);
    expect(exported.equals(zlib.gunzipSync(busybox))).toBe(true);
    // And it is an image again: fetching the export gives the same ID.
    const again = await fetchInsecure(w, ['--full', out]);
    expect(again.stdout.trim()).toBe(key64(id));
  });

  it('an image fetched bzip2-compressed exports as the plain tar too', async () => {
    const aci = simpleAci('example.com/exp-bz', [{ path: 'rootfs/data', body: 'x'.repeat(5000) }]);
    const tar = zlib.gunzipSync(aci);
    const file = writeImage(w, 'exp.tgz', execFileSync('bzip2', ['-c'], { input: tar }));
    expect((await fetchInsecure(w, [file])).code).toBe(0);
    const out = path.join(w.base, 'exp-bz.aci');
    const r = await w.run(['image', 'export', 'example.com/exp-bz', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(out).equals(tar)).toBe(true);
  });

  it('refuses to replace an existing file without --overwrite, and replaces it with', async () => {
    const out = path.join(w.base, 'existing.aci');
    fs.writeFileSync(out, 'keep me');
    const r = await w.run(['image', 'export', id.slice(0, 16), out]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
    expect(r.stderr).toContain('--overwrite');
    expect(fs.readFileSync(out, 'utf8')).toBe('keep me');
    const o = await w.run(['image', 'export', '--overwrite', id.slice(0, 16), out]);
    expect(o.code, o.stderr).toBe(0);
    expect(fs.readFileSync(out).equals(zlib.gunzipSync(busybox))).toBe(true);
    expect(fs.readdirSync(w.base).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  it('an unknown image: 254 and no output file', async () => {
    const out = path.join(w.base, 'none.aci');
    const r = await w.run(['image', 'export', 'example.com/none', out]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
    expect(fs.existsSync(out)).toBe(false);
  });
});
