import crypto from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeWorld, type World } from '../helpers/cli.js';
import { buildImage, writeImageLayout } from '../helpers/oci-images.js';

/**
 * Two fetches at once into one store, of images that share a layer the store does not have yet:
 * both download it, one stores it first, the other finds it there. Neither may fail or take the
 * shared blob from under the other (a cleanup of "blobs this fetch added" must not remove it).
 */
describe('concurrent OCI fetches sharing a new layer', () => {
  let w: World;
  beforeEach(() => {
    w = makeWorld('capsule-oc4-conc-');
  });
  afterEach(() => w.cleanup());

  it('both succeed, and both images verify and extract (three rounds)', async () => {
    // Incompressible, a few MB: the two transfers of the shared layer overlap in time.
    const base = { entries: [{ path: 'base/', type: 'Directory' as const }, { path: 'base/blob', body: crypto.randomBytes(6 * 1024 * 1024) }] };
    const one = buildImage({ layers: [base, { entries: [{ path: 'one', body: 'image one' }] }], run: { Cmd: ['/one'] } });
    const two = buildImage({ layers: [base, { entries: [{ path: 'two', body: 'image two' }] }], run: { Cmd: ['/two'] } });
    expect(one.layers[0]!.digest).toBe(two.layers[0]!.digest);
    const d1 = writeImageLayout(path.join(w.base, 'one'), one, 'v1');
    const d2 = writeImageLayout(path.join(w.base, 'two'), two, 'v1');
    for (let round = 0; round < 3; round++) {
      const [r1, r2] = await Promise.all([w.run(['--insecure-options=image', 'fetch', `oci:${d1}:v1`]), w.run(['--insecure-options=image', 'fetch', `oci:${d2}:v1`])]);
      expect(r1.code, r1.stderr).toBe(0);
      expect(r2.code, r2.stderr).toBe(0);
      expect(r1.stdout.trim()).toBe(one.config.digest);
      expect(r2.stdout.trim()).toBe(two.config.digest);
      for (const img of [one, two]) {
        const v = await w.run(['image', 'verify', img.config.digest]);
        expect(v.code, v.stderr).toBe(0);
        const out = path.join(w.base, `x-${round}-${img.config.digest.slice(7, 15)}`);
        const x = await w.run(['image', 'extract', '--rootfs-only', img.config.digest, out]);
        expect(x.code, x.stderr).toBe(0);
      }
      // Next round from scratch: both images and their blobs go.
      const rm = await w.run(['image', 'rm', one.config.digest, two.config.digest]);
      expect(rm.code, rm.stderr).toBe(0);
    }
  });
});
