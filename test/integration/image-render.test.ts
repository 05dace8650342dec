import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { simpleAci, type RawEntry } from '../helpers/images.js';
import { expectedId, fetchInsecure, listJson, snapshot, storeFiles, writeImage } from '../helpers/store-check.js';

const file = (p: string, body: string): RawEntry => ({ path: `rootfs/${p}`, body });
const dir = (p: string): RawEntry => ({ path: `rootfs/${p}/`, type: 'Directory' });

/** `image render` (image + dependencies, as an app sees it) and its appc rendering rules. */
describe('capsule image render', () => {
  let w: World;
  const ids: Record<string, string> = {};
  const add = async (key: string, name: string, entries: RawEntry[], extra: Record<string, unknown> = {}): Promise<string> => {
    const aci = simpleAci(name, entries, extra);
    const r = await fetchInsecure(w, [writeImage(w, `${key}.aci`, aci)]);
    expect(r.code, `${key}: ${r.stderr}`).toBe(0);
    ids[key] = expectedId(aci);
    return ids[key];
  };
  const render = async (image: string, extra: string[] = []): Promise<Record<string, string>> => {
    const out = path.join(w.base, `render-${Math.random().toString(36).slice(2)}`);
    const r = await w.run(['image', 'render', '--rootfs-only', ...extra, image, out]);
    expect(r.code, r.stderr).toBe(0);
    return snapshot(out);
  };

  beforeAll(async () => {
    w = makeWorld();
    // A → [B (by name), C (by name and ID)], C → [D (by ID)]: appc order B, D, C, A, later wins.
    await add('D', 'example.com/d', [file('f-bd', 'D'), file('f-dc', 'D'), file('shared', 'D'), file('d-only', 'D'), { path: 'rootfs/lnk', type: 'SymbolicLink', linkpath: '/tmp' }]);
    await add('B', 'example.com/b', [file('f-bd', 'B'), file('f-bc', 'B'), file('shared', 'B'), file('b-only', 'B'), file('conflict', 'B'), dir('hidden'), file('hidden/sub', 'B')]);
    await add('C', 'example.com/c', [file('f-bc', 'C'), file('f-dc', 'C'), file('shared', 'C'), dir('lnk'), file('lnk/f', 'C')], {
      dependencies: [{ imageName: 'example.com/d', imageID: ids.D }],
    });
    await add('A', 'example.com/a', [file('shared', 'A'), dir('conflict'), file('conflict/inner', 'A'), file('hidden', 'A')], {
      dependencies: [{ imageName: 'example.com/b' }, { imageName: 'example.com/c', imageID: ids.C, labels: [{ name: 'os', value: 'linux' }] }],
    });
  });
  afterAll(() => w.cleanup());

  it('renders dependencies depth-first, later wins: B, D, C, A', async () => {
    expect(await render('example.com/a')).toEqual({
      'b-only': 'B',
      conflict: 'dir',
      'conflict/inner': 'A',
      'd-only': 'D',
      'f-bc': 'C',
      'f-bd': 'D',
      'f-dc': 'C',
      hidden: 'A',
      lnk: 'dir',
      'lnk/f': 'C',
      shared: 'A',
    });
  });

  it('renders an image reached through its dependency the same way (C with D)', async () => {
    expect(await render(ids.C!.slice(0, 20))).toEqual({ 'd-only': 'D', 'f-bc': 'C', 'f-bd': 'D', 'f-dc': 'C', lnk: 'dir', 'lnk/f': 'C', shared: 'C' });
  });

  it('without --rootfs-only writes the top manifest beside rootfs/; extract shows the image alone', async () => {
    const out = path.join(w.base, 'full-render');
    const r = await w.run(['image', 'render', 'example.com/a', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['manifest', 'rootfs']);
    expect((JSON.parse(fs.readFileSync(path.join(out, 'manifest'), 'utf8')) as { name: string }).name).toBe('example.com/a');
    const ex = path.join(w.base, 'extract-a');
    expect((await w.run(['image', 'extract', '--rootfs-only', 'example.com/a', ex])).code).toBe(0);
    expect(snapshot(ex)).toEqual({ conflict: 'dir', 'conflict/inner': 'A', hidden: 'A', shared: 'A' });
  });

  it('the tree rendered at fetch time holds the same files as `image render`', async () => {
    const tree = storeFiles(w.dir).trees.find((t) => (JSON.parse(fs.readFileSync(path.join(t.dir, 'rendered'), 'utf8')) as { deps: string[] }).deps[0] === ids.A);
    expect(tree).toBeDefined();
    expect(snapshot(path.join(tree!.dir, 'rootfs'))).toEqual(await render('example.com/a'));
  });

  it('honours pathWhitelist: only listed paths survive, from the image and its dependencies', async () => {
    await add('X', 'example.com/wl-dep', [file('keep', 'X'), file('drop', 'X'), dir('etc'), file('etc/keep', 'X'), file('etc/drop', 'X')]);
    await add('W', 'example.com/wl-top', [file('w-keep', 'W'), file('w-drop', 'W')], {
      dependencies: [{ imageName: 'example.com/wl-dep' }],
      pathWhitelist: ['/keep', '/etc/keep', '/w-keep'],
    });
    const want = { etc: 'dir', 'etc/keep': 'X', keep: 'X', 'w-keep': 'W' };
    expect(await render('example.com/wl-top')).toEqual(want);
    const tree = storeFiles(w.dir).trees.find((t) => (JSON.parse(fs.readFileSync(path.join(t.dir, 'rendered'), 'utf8')) as { deps: string[] }).deps[0] === ids.W);
    expect(snapshot(path.join(tree!.dir, 'rootfs'))).toEqual(want);
  });

  it('a DAG renders a shared dependency once per path, each time with that path’s whitelist', async () => {
    await add('D2', 'example.com/dag-d', [file('d1', 'D'), file('d2', 'D')]);
    await add('P', 'example.com/dag-p', [file('p', 'P')], { dependencies: [{ imageName: 'example.com/dag-d' }], pathWhitelist: ['/p', '/d1'] });
    await add('Q', 'example.com/dag-q', [file('q', 'Q')], { dependencies: [{ imageName: 'example.com/dag-d' }] });
    await add('T1', 'example.com/dag-top1', [], { dependencies: [{ imageName: 'example.com/dag-p' }] });
    await add('T2', 'example.com/dag-top2', [], { dependencies: [{ imageName: 'example.com/dag-p' }, { imageName: 'example.com/dag-q' }] });
    expect(await render('example.com/dag-top1')).toEqual({ d1: 'D', p: 'P' });
    expect(await render('example.com/dag-top2')).toEqual({ d1: 'D', d2: 'D', p: 'P', q: 'Q' });
  });

  it('rejects a dependency cycle A → B → A with a clear error', async () => {
    // cyc-a v1 (no deps) lets cyc-b be fetched; cyc-a v2 then depends on cyc-b, whose
    // dependency "example.com/cyc-a" now resolves to v2 itself.
    await add('cycA1', 'example.com/cyc-a', [file('a', '1')], { labels: [{ name: 'version', value: '1' }] });
    await add('cycB', 'example.com/cyc-b', [file('b', 'B')], { dependencies: [{ imageName: 'example.com/cyc-a' }] });
    await add('cycA2', 'example.com/cyc-a', [file('a', '2')], { labels: [{ name: 'version', value: '2' }], dependencies: [{ imageName: 'example.com/cyc-b' }] });
    const out = path.join(w.base, 'cycle');
    const r = await w.run(['image', 'render', 'example.com/cyc-a:2', out]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
    expect(r.stderr).toMatch(/^image render: .*dependency cycle/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a missing dependency fails the fetch with a clear error and stores nothing', async () => {
    const v = makeWorld();
    try {
      const cases: [string, Record<string, unknown>, string][] = [
        ['by-name', { dependencies: [{ imageName: 'example.com/missing' }] }, 'example.com/missing'],
        ['by-id', { dependencies: [{ imageName: 'example.com/missing', imageID: ids.D }] }, 'not in the store'],
      ];
      for (const [key, extra, says] of cases) {
        const r = await fetchInsecure(v, [writeImage(v, `${key}.aci`, simpleAci('example.com/needs-dep', [file('x', 'x')], extra))]);
        expect(r.code, key).toBe(254);
        expect(r.stdout).toBe('');
        expect(errorLines(r), key).toHaveLength(2); // the insecure-options warning, then the error
        expect(r.stderr, key).toContain('dependency');
        expect(r.stderr, key).toContain(says);
      }
      expect(await listJson(v)).toEqual([]);
      const files = storeFiles(v.dir);
      expect(files).toEqual({ blobs: [], trees: [], tmp: [] });
    } finally {
      v.cleanup();
    }
  });

  it('a dependency whose imageID names a differently named image is refused', async () => {
    const aci = simpleAci('example.com/wrong-dep', [], { dependencies: [{ imageName: 'example.com/b', imageID: ids.D }] });
    const r = await fetchInsecure(w, [writeImage(w, 'wrong-dep.aci', aci)]);
    expect(r.code).toBe(254);
    expect(r.stderr).toContain('example.com/b');
    expect((await listJson(w)).some((i) => i.name === 'example.com/wrong-dep')).toBe(false);
  });
});
