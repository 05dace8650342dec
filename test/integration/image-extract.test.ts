import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { simpleAci } from '../helpers/images.js';
import { expectedId, fetchInsecure, snapshot, writeImage } from '../helpers/store-check.js';

describe('capsule image extract', () => {
  let w: World;
  let id: string;
  const manifestExtra = { labels: [{ name: 'os', value: 'linux' }, { name: 'version', value: '1' }] };
  beforeAll(async () => {
    w = makeWorld();
    const base = simpleAci('example.com/ex-base', [{ path: 'rootfs/from-base', body: 'base\n' }]);
    expect((await fetchInsecure(w, [writeImage(w, 'base.aci', base)])).code).toBe(0);
    const aci = simpleAci(
      'example.com/ex',
      [
        { path: 'rootfs/etc/', type: 'Directory', mode: 0o750 },
        { path: 'rootfs/etc/conf', body: 'conf\n', mode: 0o640, mtime: new Date('2020-01-02T03:04:05Z') },
        { path: 'rootfs/bin/', type: 'Directory' },
        { path: 'rootfs/bin/tool', body: '#!/bin/sh\n', mode: 0o755 },
        { path: 'rootfs/link', type: 'SymbolicLink', linkpath: 'etc/conf' },
      ],
      { ...manifestExtra, dependencies: [{ imageName: 'example.com/ex-base' }] },
    );
    id = expectedId(aci);
    const r = await fetchInsecure(w, [writeImage(w, 'ex.aci', aci)]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => w.cleanup());

  it('writes manifest and rootfs/ of the image alone (no dependencies), keeping modes and times', async () => {
    const dir = path.join(w.base, 'out1');
    const r = await w.run(['image', 'extract', 'example.com/ex', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['manifest', 'rootfs']);
    const m = await w.run(['image', 'cat-manifest', '--pretty-print=false', id.slice(0, 20)]);
    expect(fs.readFileSync(path.join(dir, 'manifest'), 'utf8')).toBe(m.stdout.replace(/\n$/, ''));
    expect(snapshot(path.join(dir, 'rootfs'))).toEqual({ bin: 'dir', 'bin/tool': '#!/bin/sh\n', etc: 'dir', 'etc/conf': 'conf\n', link: '-> etc/conf' });
    const conf = fs.statSync(path.join(dir, 'rootfs/etc/conf'));
    expect(conf.mode & 0o7777).toBe(0o640);
    expect(conf.mtime.toISOString()).toBe('2020-01-02T03:04:05.000Z');
    expect(fs.statSync(path.join(dir, 'rootfs/etc')).mode & 0o7777).toBe(0o750);
    expect(fs.statSync(path.join(dir, 'rootfs/bin/tool')).mode & 0o7777).toBe(0o755);
  });

  it('--rootfs-only writes the rootfs itself into DIR', async () => {
    const dir = path.join(w.base, 'out2');
    const r = await w.run(['image', 'extract', '--rootfs-only', id.slice(0, 12), dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['bin', 'etc', 'link']);
  });

  it('refuses an existing DIR without --overwrite and leaves it alone; --overwrite replaces it', async () => {
    const dir = path.join(w.base, 'out3');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'precious'), 'keep');
    const r = await w.run(['image', 'extract', 'example.com/ex', dir]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
    expect(r.stderr).toContain('--overwrite');
    expect(fs.readdirSync(dir)).toEqual(['precious']);
    const o = await w.run(['image', 'extract', '--overwrite', '--rootfs-only', 'example.com/ex', dir]);
    expect(o.code, o.stderr).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['bin', 'etc', 'link']);
  });

  it('the extracted tree is independent of the store: changing it does not touch the rendered tree', async () => {
    const dir = path.join(w.base, 'out4');
    expect((await w.run(['image', 'extract', '--rootfs-only', 'example.com/ex', dir])).code).toBe(0);
    fs.writeFileSync(path.join(dir, 'etc/conf'), 'changed');
    const v = await w.run(['image', 'verify', 'example.com/ex']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain('successfully verified checksum');
  });

  it('an unknown image: 254 and no directory', async () => {
    const dir = path.join(w.base, 'out5');
    const r = await w.run(['image', 'extract', 'example.com/nope', dir]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
    expect(fs.existsSync(dir)).toBe(false);
  });
});
