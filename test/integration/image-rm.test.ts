import { beforeEach, afterEach, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { simpleAci } from '../helpers/images.js';
import { expectedId, fetchInsecure, key64, listJson, storeFiles, storeViolations, writeImage } from '../helpers/store-check.js';

describe('capsule image rm', () => {
  let w: World;
  let one: string;
  let two: string;
  beforeEach(async () => {
    w = makeWorld();
    const a = simpleAci('example.com/rm-one', [{ path: 'rootfs/one', body: '1' }], { labels: [{ name: 'version', value: '1.0' }] });
    const b = simpleAci('example.com/rm-two', [{ path: 'rootfs/two', body: '2' }]);
    [one, two] = [expectedId(a), expectedId(b)];
    const r = await fetchInsecure(w, [writeImage(w, 'one.aci', a), writeImage(w, 'two.aci', b)]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterEach(() => w.cleanup());

  it('removes by ID prefix: rkt messages, blob and tree gone, the other image kept', async () => {
    const r = await w.run(['image', 'rm', one.slice(0, 14)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`successfully removed aci for image: "${key64(one)}"\n`);
    expect(r.stderr).toBe('image rm: 1 image(s) successfully removed\n');
    expect((await listJson(w)).map((i) => i.id)).toEqual([key64(two)]);
    const files = storeFiles(w.dir);
    expect(files.blobs.map((b) => b.name)).toEqual([two]);
    expect(files.trees).toHaveLength(1);
    expect(await storeViolations(w)).toEqual([]);
  });

  it('removes by name and name:version', async () => {
    const r = await w.run(['image', 'rm', 'example.com/rm-one:1.0', 'example.com/rm-two']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').sort()).toEqual([`successfully removed aci for image: "${key64(one)}"`, `successfully removed aci for image: "${key64(two)}"`].sort());
    expect(r.stderr).toBe('image rm: 2 image(s) successfully removed\n');
    expect(await listJson(w)).toEqual([]);
    expect(storeFiles(w.dir)).toEqual({ blobs: [], trees: [], tmp: [] });
  });

  it('collapses duplicates: the same image by ID twice and by name is removed once, no error', async () => {
    const r = await w.run(['image', 'rm', one.slice(0, 14), key64(one), 'example.com/rm-one']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`successfully removed aci for image: "${key64(one)}"\n`);
    expect(r.stderr).toBe('image rm: 1 image(s) successfully removed\n');
  });

  it('unknown images: removes the rest, then 254 with `N image(s) cannot be removed`', async () => {
    const r = await w.run(['image', 'rm', 'example.com/nope', one.slice(0, 14), 'sha512-0000000000']);
    expect(r.code).toBe(254);
    expect(r.stdout).toBe(`successfully removed aci for image: "${key64(one)}"\n`);
    const lines = errorLines(r);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^image rm: .*example\.com\/nope/);
    expect(lines[1]).toMatch(/^image rm: no image IDs found/);
    expect(lines[2]).toBe('image rm: 1 image(s) successfully removed');
    expect(lines[3]).toBe('image rm: 2 image(s) cannot be removed');
    expect((await listJson(w)).map((i) => i.id)).toEqual([key64(two)]);
  });

  it('only unknown images: no success line', async () => {
    const r = await w.run(['image', 'rm', 'example.com/nope']);
    expect(r.code).toBe(254);
    expect(r.stdout).toBe('');
    expect(errorLines(r)).toEqual([expect.stringMatching(/^image rm: /), 'image rm: 1 image(s) cannot be removed']);
    expect(await listJson(w)).toHaveLength(2);
  });

  it('needs at least one argument', async () => {
    const r = await w.run(['image', 'rm']);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
  });

  it('a removed image can be fetched again', async () => {
    expect((await w.run(['image', 'rm', 'example.com/rm-two'])).code).toBe(0);
    const r = await fetchInsecure(w, ['--full', `${w.base}/two.aci`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(key64(two));
    expect(await storeViolations(w)).toEqual([]);
  });
});
