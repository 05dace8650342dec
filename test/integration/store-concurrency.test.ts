import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeWorld, type RunResult, type World } from '../helpers/cli.js';
import { sampleImage, simpleAci } from '../helpers/images.js';
import { expectedId, fetchInsecure, key64, listJson, short32, storeFiles, storeViolations, treeRemovalLines, writeImage } from '../helpers/store-check.js';

const N = 16;

/** Many real capsule processes on one store (not promises in one process): locks, SQLite and renames under contention. */
describe('concurrent capsule processes on one store', () => {
  let w: World;
  beforeEach(() => {
    w = makeWorld();
  });
  afterEach(() => w.cleanup());

  const expectAllOk = (rs: RunResult[]): void => {
    for (const [i, r] of rs.entries()) {
      expect(r.signal, `process ${i}`).toBeNull();
      expect(r.code, `process ${i}: ${r.stderr}`).toBe(0);
    }
  };

  it(`${N} parallel fetches of the same image on a fresh store: one image, one blob, one tree`, async () => {
    const aci = fs.readFileSync(sampleImage('busybox'));
    const id = expectedId(aci);
    const file = writeImage(w, 'busybox.aci', aci);
    const rs = await Promise.all(Array.from({ length: N }, () => fetchInsecure(w, [file])));
    expectAllOk(rs);
    for (const r of rs) expect(r.stdout).toBe(`${short32(id)}\n`);
    const listed = await listJson(w);
    expect(listed.map((i) => i.id)).toEqual([key64(id)]);
    const files = storeFiles(w.dir);
    expect(files.blobs.map((b) => b.name)).toEqual([id]);
    expect(files.trees).toHaveLength(1);
    expect(await storeViolations(w)).toEqual([]);
  });

  it(`${N} parallel fetches of ${N} different images on a fresh store: all listed, all consistent`, async () => {
    const images = Array.from({ length: N }, (_, i) => {
      const aci = simpleAci(`example.com/par-${i}`, [
        { path: 'rootfs/etc/', type: 'Directory' },
        { path: 'rootfs/etc/id', body: `image ${i}\n` },
        { path: 'rootfs/data', body: Buffer.alloc(20_000 + i * 1000, i) },
      ]);
      return { id: expectedId(aci), file: writeImage(w, `par-${i}.aci`, aci) };
    });
    const rs = await Promise.all(images.map((img) => fetchInsecure(w, [img.file])));
    expectAllOk(rs);
    for (const [i, r] of rs.entries()) expect(r.stdout).toBe(`${short32(images[i]!.id)}\n`);
    const listed = await listJson(w);
    expect(listed).toHaveLength(N);
    expect(listed.map((i) => i.id).sort()).toEqual(images.map((i) => key64(i.id)).sort());
    const files = storeFiles(w.dir);
    expect(files.blobs).toHaveLength(N);
    expect(files.trees).toHaveLength(N);
    expect(await storeViolations(w)).toEqual([]);
  });

  it('fetch, `image gc --grace-period=24h` and `image list` loops in parallel do not fail spuriously', async () => {
    const PER = 5;
    const FETCHERS = 3;
    const images = Array.from({ length: FETCHERS * PER }, (_, i) => {
      const aci = simpleAci(`example.com/mixed-${i}`, [{ path: 'rootfs/n', body: `${i}\n`.repeat(2000) }]);
      return { id: expectedId(aci), file: writeImage(w, `mixed-${i}.aci`, aci) };
    });
    let fetching = true;
    const failures: string[] = [];
    const check = (what: string, r: RunResult): void => {
      if (r.code !== 0) failures.push(`${what} exited ${r.code ?? r.signal}: ${r.stderr}`);
    };
    const fetchers = Array.from({ length: FETCHERS }, async (_, f) => {
      for (let i = 0; i < PER; i++) {
        const img = images[f * PER + i]!;
        const r = await fetchInsecure(w, [img.file]);
        check(`fetch ${img.file}`, r);
        if (r.code === 0 && r.stdout !== `${short32(img.id)}\n`) failures.push(`fetch ${img.file} printed ${r.stdout}`);
      }
    });
    let gcRuns = 0;
    let listRuns = 0;
    const gcLoop = (async () => {
      while (fetching) {
        check('image gc', await w.run(['image', 'gc', '--grace-period=24h']));
        gcRuns++;
      }
    })();
    const listLoop = (async () => {
      while (fetching) {
        const r = await w.run(['image', 'list', '--format', 'json']);
        check('image list', r);
        if (r.code === 0) JSON.parse(r.stdout);
        listRuns++;
      }
    })();
    await Promise.all(fetchers);
    fetching = false;
    await Promise.all([gcLoop, listLoop]);
    expect(failures).toEqual([]);
    expect(gcRuns).toBeGreaterThan(0);
    expect(listRuns).toBeGreaterThan(0);
    expect((await listJson(w)).map((i) => i.id).sort()).toEqual(images.map((i) => key64(i.id)).sort());
    // A final gc finds nothing to remove: nothing was half-done.
    const trees = treeRemovalLines(w.dir);
    const gc = await w.run(['image', 'gc', '--grace-period=24h']);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toBe('');
    expect(gc.stderr).toBe(trees);
    expect(await storeViolations(w)).toEqual([]);
  });
});
