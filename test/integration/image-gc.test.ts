import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { simpleAci } from '../helpers/images.js';
import { expectedId, fetchInsecure, key64, listJson, storeFiles, storeViolations, treeRemovalLines, writeImage } from '../helpers/store-check.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('capsule image gc', () => {
  let w: World;
  let old: string;
  let fresh: string;
  let oldFile: string;
  let freshFile: string;
  beforeEach(() => {
    w = makeWorld();
    const a = simpleAci('example.com/gc-old', [{ path: 'rootfs/old', body: 'old' }]);
    const b = simpleAci('example.com/gc-fresh', [{ path: 'rootfs/fresh', body: 'fresh' }]);
    [old, fresh] = [expectedId(a), expectedId(b)];
    oldFile = writeImage(w, 'old.aci', a);
    freshFile = writeImage(w, 'fresh.aci', b);
  });
  afterEach(() => w.cleanup());

  it('keeps images used within the default 24h grace period and says nothing about images', async () => {
    expect((await fetchInsecure(w, [oldFile, freshFile])).code).toBe(0);
    const trees = treeRemovalLines(w.dir);
    const r = await w.run(['image', 'gc']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(trees); // only the rendered trees no pod uses
    expect(await listJson(w)).toHaveLength(2);
  });

  it('removes rendered trees no pod uses (rkt), so the store holds each image once; image list shows the blob size alone; run renders again', async () => {
    expect((await fetchInsecure(w, [freshFile])).code).toBe(0);
    const blobSize = storeFiles(w.dir).blobs.map((b) => fs.statSync(b.file).size)[0];
    const before = await listJson(w);
    const treeNames = storeFiles(w.dir).trees.map((t) => t.name);
    expect(treeNames).toHaveLength(1);
    const r = await w.run(['image', 'gc']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`removed treestore ${JSON.stringify(treeNames[0])}\n`);
    expect(storeFiles(w.dir).trees).toEqual([]);
    const after = await listJson(w);
    expect(after.map((i) => i.id)).toEqual(before.map((i) => i.id));
    expect(after[0]!.size).toBe(blobSize);
    expect(before[0]!.size).toBeGreaterThan(after[0]!.size);
    // Rendering again when needed (image render goes through the same tree store as run/prepare).
    const out = path.join(w.base, 'again');
    expect((await w.run(['image', 'render', '--rootfs-only', 'example.com/gc-fresh', out])).code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'fresh'), 'utf8')).toBe('fresh');
    expect(await storeViolations(w)).toEqual([]);
  });

  it('removes images unused for longer than --grace-period, with rkt’s lines, and their trees and blobs', async () => {
    expect((await fetchInsecure(w, [oldFile])).code).toBe(0);
    await sleep(2500);
    expect((await fetchInsecure(w, [freshFile])).code).toBe(0);
    const r = await w.run(['image', 'gc', '--grace-period=2s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`successfully removed aci for image: "${key64(old)}"\n`);
    expect(r.stderr).toMatch(/image gc: 1 image\(s\) successfully removed\n$/);
    expect((await listJson(w)).map((i) => i.id)).toEqual([key64(fresh)]);
    const files = storeFiles(w.dir);
    expect(files.blobs.map((b) => b.name)).toEqual([fresh]);
    expect(files.trees).toEqual([]);
    expect(await storeViolations(w)).toEqual([]);
  });

  it('fetching an image again counts as using it', async () => {
    expect((await fetchInsecure(w, [oldFile])).code).toBe(0);
    await sleep(2500);
    expect((await fetchInsecure(w, [oldFile])).code).toBe(0);
    const r = await w.run(['image', 'gc', '--grace-period', '2s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(await listJson(w)).toHaveLength(1);
  });

  it('--grace-period=0s removes every image', async () => {
    expect((await fetchInsecure(w, [oldFile, freshFile])).code).toBe(0);
    const r = await w.run(['image', 'gc', '--grace-period=0s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').sort()).toEqual([old, fresh].map((i) => `successfully removed aci for image: "${key64(i)}"`).sort());
    expect(r.stderr).toMatch(/image gc: 2 image\(s\) successfully removed\n$/);
    expect(storeFiles(w.dir)).toEqual({ blobs: [], trees: [], tmp: [] });
  });

  it('--grace-period=0s removes an image fetched a moment ago that nothing uses', async () => {
    expect((await fetchInsecure(w, [freshFile])).code).toBe(0);
    const r = await w.run(['image', 'gc', '--grace-period=0s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`successfully removed aci for image: "${key64(fresh)}"\n`);
    expect(await listJson(w)).toEqual([]);
  });

  it('sweeps leftovers of interrupted imports: temp files, unindexed blobs, unrendered and orphan trees', async () => {
    expect((await fetchInsecure(w, [freshFile])).code).toBe(0);
    const l = { tmp: path.join(w.dir, 'cas/tmp'), blob: path.join(w.dir, 'cas/blob/sha512'), tree: path.join(w.dir, 'tree') };
    fs.writeFileSync(path.join(l.tmp, 'blob-123-abc'), 'partial download');
    fs.mkdirSync(path.join(l.tmp, 'tree-123-abc/rootfs/etc'), { recursive: true });
    const stray = `sha512-${'ab'.repeat(64)}`;
    fs.mkdirSync(path.join(l.blob, 'ab'), { recursive: true });
    fs.writeFileSync(path.join(l.blob, 'ab', stray), 'not indexed');
    const orphan = `deps-sha512-${'cd'.repeat(32)}`;
    fs.mkdirSync(path.join(l.tree, orphan, 'rootfs'), { recursive: true });
    fs.writeFileSync(path.join(l.tree, orphan, 'rendered'), '{}\n');
    const unrendered = `deps-sha512-${'ef'.repeat(32)}`;
    fs.mkdirSync(path.join(l.tree, unrendered, 'rootfs/half'), { recursive: true });
    const r = await w.run(['image', 'gc']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`removed treestore "${orphan}"`);
    expect(r.stderr).toContain(`removed treestore "${unrendered}"`);
    expect(r.stderr).toContain(key64(stray));
    expect(r.stdout).toBe('');
    const files = storeFiles(w.dir);
    expect(files.tmp).toEqual([]);
    expect(files.blobs.map((b) => b.name)).toEqual([fresh]);
    expect(files.trees).toEqual([]); // the surviving image's tree too: no pod uses it
    expect(await storeViolations(w)).toEqual([]);
    // The surviving image still renders.
    const out = path.join(w.base, 'out');
    expect((await w.run(['image', 'render', '--rootfs-only', 'example.com/gc-fresh', out])).code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'fresh'), 'utf8')).toBe('fresh');
  });

  it('a bad --grace-period is a usage error: 254, one line, nothing removed', async () => {
    expect((await fetchInsecure(w, [oldFile])).code).toBe(0);
    for (const bad of ['soon', '24', '-1h', '1d']) {
      const r = await w.run(['image', 'gc', `--grace-period=${bad}`]);
      expect(r.code, bad).toBe(254);
      expect(errorLines(r), bad).toHaveLength(1);
      expect(r.stderr, bad).toContain('--grace-period');
    }
    expect(await listJson(w)).toHaveLength(1);
  });
});
