import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type RunResult, type World } from '../helpers/cli.js';
import { PLATFORM_LABELS, simpleAci } from '../helpers/images.js';
import { expectedId, fetchInsecure, writeImage } from '../helpers/store-check.js';
import { fakePod, holdLock } from './pods-fixtures.js';

/** export through the real CLI: an exited pod's app = its tree with the overlay upper dir on top. */
let w: World;
const run = (args: string[]): Promise<RunResult> => w.run(args);
const TREE = `deps-sha512-${'1'.repeat(64)}`;

/** Sets an xattr without the attr package (not always installed): python's os.setxattr, when there is a python. */
function setOpaque(dir: string): boolean {
  const r = spawnSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")', dir]);
  return r.status === 0;
}

function unpack(aci: string): string {
  const out = fs.mkdtempSync(path.join(w.base, 'unpacked-'));
  execFileSync('tar', ['-xf', aci, '-C', out]);
  return out;
}

beforeAll(() => {
  w = makeWorld();
  // The app's tree in the store: the lower layer.
  const lower = path.join(w.dir, 'tree', TREE, 'rootfs');
  fs.mkdirSync(path.join(lower, 'etc'), { recursive: true });
  fs.mkdirSync(path.join(lower, 'var', 'cache'), { recursive: true });
  fs.writeFileSync(path.join(lower, 'etc', 'config'), 'original\n');
  fs.writeFileSync(path.join(lower, 'etc', 'removed'), 'gone soon\n');
  fs.writeFileSync(path.join(lower, 'var', 'cache', 'old'), 'stale\n');
  fs.symlinkSync('etc/config', path.join(lower, 'link'));
});
afterAll(() => w.cleanup());

function exitedPod(o: { overlay?: boolean; apps?: string[]; imageId?: string } = {}): { uuid: string; dir: string } {
  return fakePod(w.dir, 'run', { overlay: o.overlay ?? true, apps: (o.apps ?? ['app']).map((name) => ({ name, treeId: TREE, exit: 0, ...(o.imageId ? { imageId: o.imageId } : {}) })) });
}

describe('capsule export', () => {
  it('merges the upper dir over the tree: changes, new files, whiteouts and opaque dirs', async () => {
    const { uuid, dir } = exitedPod();
    const upper = path.join(dir, 'apps', 'app', 'upper');
    fs.mkdirSync(path.join(upper, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(upper, 'etc', 'config'), 'changed\n');
    fs.writeFileSync(path.join(upper, 'new-file'), 'made by the app\n');
    execFileSync('mknod', [path.join(upper, 'etc', 'removed'), 'c', '0', '0']); // overlayfs whiteout
    fs.mkdirSync(path.join(upper, 'var', 'cache'), { recursive: true });
    const opaque = setOpaque(path.join(upper, 'var', 'cache'));
    fs.writeFileSync(path.join(upper, 'var', 'cache', 'fresh'), 'new\n');
    const out = path.join(w.base, 'app.aci');
    const r = await run(['export', uuid, out]);
    expect(r.code, r.stderr).toBe(0);
    const u = unpack(out);
    expect(fs.readFileSync(path.join(u, 'rootfs', 'etc', 'config'), 'utf8')).toBe('changed\n');
    expect(fs.readFileSync(path.join(u, 'rootfs', 'new-file'), 'utf8')).toBe('made by the app\n');
    expect(fs.existsSync(path.join(u, 'rootfs', 'etc', 'removed'))).toBe(false);
    expect(fs.readlinkSync(path.join(u, 'rootfs', 'link'))).toBe('etc/config');
    expect(fs.readFileSync(path.join(u, 'rootfs', 'var', 'cache', 'fresh'), 'utf8')).toBe('new\n');
    if (opaque) expect(fs.existsSync(path.join(u, 'rootfs', 'var', 'cache', 'old'))).toBe(false);
    const m = JSON.parse(fs.readFileSync(path.join(u, 'manifest'), 'utf8')) as Record<string, unknown>;
    expect(m).toMatchObject({ acKind: 'ImageManifest', name: 'example.com/app', app: { exec: ['/bin/true'] } });
    // Nothing stays mounted, no temp dirs stay behind.
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(w.base);
    expect(fs.readdirSync(path.join(w.dir, 'tmp'))).toEqual([]);
    expect(fs.readdirSync(w.base).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    // And it is an image: capsule can fetch it.
    const f = await fetchInsecure(w, [out]);
    expect(f.code, f.stderr).toBe(0);
  });

  it("the stored image's manifest is used while the image is still in the store", async () => {
    const labels = [...PLATFORM_LABELS, { name: 'version', value: '7' }];
    const plain = simpleAci('example.com/stored', [], { labels });
    expect((await fetchInsecure(w, [writeImage(w, 'stored.aci', plain)])).code).toBe(0);
    const { uuid } = exitedPod({ imageId: expectedId(plain) });
    const out = path.join(w.base, 'stored-export.aci');
    const r = await run(['export', uuid, out]);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(fs.readFileSync(path.join(unpack(out), 'manifest'), 'utf8')) as Record<string, unknown>;
    expect(m.name).toBe('example.com/stored');
    expect(m.labels).toEqual(labels);
    expect(m).not.toHaveProperty('dependencies');
  });

  it('--no-overlay pods: the private rootfs copy', async () => {
    const { uuid, dir } = exitedPod({ overlay: false });
    fs.mkdirSync(path.join(dir, 'apps', 'app', 'rootfs', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'apps', 'app', 'rootfs', 'bin', 'tool'), 'copy\n', { mode: 0o4755 });
    fs.chmodSync(path.join(dir, 'apps', 'app', 'rootfs', 'bin', 'tool'), 0o4755);
    const out = path.join(w.base, 'copy.aci');
    const r = await run(['export', uuid, out]);
    expect(r.code, r.stderr).toBe(0);
    const listing = execFileSync('tar', ['-tvf', out], { encoding: 'utf8' });
    expect(listing).toMatch(/-rwsr-xr-x .* rootfs\/bin\/tool/);
    expect(listing).not.toContain('rootfs/etc/config');
  });

  it("refusals: not exited, not .aci, existing output, several apps without --app", async () => {
    const running = fakePod(w.dir, 'run', { apps: [{ name: 'app', treeId: TREE }] }).uuid;
    const h = await holdLock(w.runtimeDir, running);
    try {
      const r = await run(['export', running, path.join(w.base, 'x.aci')]);
      expect(r.code).toBe(254);
      expect(errorLines(r)).toEqual(['export: pod is not exited. Only exited pods can be exported']);
    } finally {
      await h.kill();
    }
    const prepared = fakePod(w.dir, 'prepared').uuid;
    expect(errorLines(await run(['export', prepared, path.join(w.base, 'x.aci')]))).toEqual(['export: pod is not exited. Only exited pods can be exported']);
    const { uuid } = exitedPod();
    const bad = await run(['export', uuid, path.join(w.base, 'x.tar')]);
    expect(errorLines(bad)).toEqual([`export: extension must be .aci (given ${path.join(w.base, 'x.tar')})`]);
    const exists = path.join(w.base, 'exists.aci');
    fs.writeFileSync(exists, 'keep');
    const e = await run(['export', uuid, exists]);
    expect(e.code).toBe(254);
    expect(e.stderr).toContain('--overwrite');
    expect(fs.readFileSync(exists, 'utf8')).toBe('keep');
    expect((await run(['export', '--overwrite', uuid, exists])).code).toBe(0);
    const multi = exitedPod({ apps: ['one', 'two'] }).uuid;
    const m = await run(['export', multi, path.join(w.base, 'm.aci')]);
    expect(m.code).toBe(254);
    expect(m.stderr).toBe('export: pod contains multiple apps:\n\tone\n\ttwo\nexport: specify app using "capsule export --app= ..."\n');
    expect((await run(['export', '--app', 'two', multi, path.join(w.base, 'm.aci')])).code).toBe(0);
  });
});
