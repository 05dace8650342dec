import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { PLATFORM_LABELS } from '../helpers/images.js';
import { expectedId, fetchInsecure, short32 } from '../helpers/store-check.js';

const base = { acKind: 'ImageManifest', acVersion: '0.8.11', name: 'example.com/built', labels: [...PLATFORM_LABELS] };
const app = { exec: ['/bin/true'], user: '0', group: '0' };

describe('capsule image build', () => {
  let w: World;
  let n = 0;
  /** A fresh build directory with `manifest` and a small rootfs. */
  const buildDir = (manifest: unknown = base): string => {
    const d = path.join(w.base, `src${n++}`);
    fs.mkdirSync(path.join(d, 'rootfs/etc'), { recursive: true });
    fs.mkdirSync(path.join(d, 'rootfs/bin'), { recursive: true });
    fs.writeFileSync(path.join(d, 'rootfs/etc/conf'), 'value=1\n');
    fs.writeFileSync(path.join(d, 'rootfs/bin/tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
    fs.symlinkSync('tool', path.join(d, 'rootfs/bin/alias'));
    fs.linkSync(path.join(d, 'rootfs/etc/conf'), path.join(d, 'rootfs/etc/conf.hard'));
    fs.writeFileSync(path.join(d, 'manifest'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
    return d;
  };
  const build = (args: string[]): ReturnType<World['run']> => w.run(['image', 'build', ...args], { env: { SOURCE_DATE_EPOCH: '1700000000' } });

  beforeAll(() => {
    w = makeWorld();
  });
  afterAll(() => w.cleanup());

  it('prints the image ID: the SHA-512 of the tar inside the gzip output', async () => {
    const out = path.join(w.base, 'a.aci');
    const r = await build([buildDir(), out]);
    expect(r.code, r.stderr).toBe(0);
    const aci = fs.readFileSync(out);
    expect(aci.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(r.stdout).toBe(`${short32(expectedId(aci))}\n`);
    // The built image is valid: fetching it gives the same ID.
    const f = await fetchInsecure(w, [out]);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stdout).toBe(r.stdout);
  });

  it('--compression none writes the plain tar', async () => {
    const out = path.join(w.base, 'plain.aci');
    const r = await build(['--compression', 'none', buildDir(), out]);
    expect(r.code, r.stderr).toBe(0);
    const tar = fs.readFileSync(out);
    expect(tar.subarray(257, 262).toString('latin1')).toBe('ustar');
    expect(r.stdout).toBe(`${short32(expectedId(tar))}\n`);
  });

  it('is deterministic: the same directory twice (and an identical copy) gives the same ID and bytes', async () => {
    const d = buildDir();
    const [o1, o2, o3] = ['d1.aci', 'd2.aci', 'd3.aci'].map((f) => path.join(w.base, f));
    const r1 = await build([d, o1!]);
    const r2 = await build([d, o2!]);
    const r3 = await build([buildDir(), o3!]);
    expect(r1.code).toBe(0);
    expect(r1.stdout).toBe(r2.stdout);
    expect(r1.stdout).toBe(r3.stdout);
    expect(zlib.gunzipSync(fs.readFileSync(o1!)).equals(zlib.gunzipSync(fs.readFileSync(o2!)))).toBe(true);
  });

  it('a changed file, mode or manifest gives a different ID', async () => {
    const ids = new Set<string>();
    const variants: ((d: string) => void)[] = [
      () => undefined,
      (d) => fs.writeFileSync(path.join(d, 'rootfs/etc/conf'), 'value=2\n'),
      (d) => fs.chmodSync(path.join(d, 'rootfs/bin/tool'), 0o700),
      (d) => fs.writeFileSync(path.join(d, 'rootfs/new'), ''),
      (d) => fs.writeFileSync(path.join(d, 'manifest'), JSON.stringify({ ...base, name: 'example.com/built2' })),
    ];
    for (const [i, change] of variants.entries()) {
      const d = buildDir();
      change(d);
      const r = await build([d, path.join(w.base, `v${i}.aci`)]);
      expect(r.code, r.stderr).toBe(0);
      ids.add(r.stdout);
    }
    expect(ids.size).toBe(variants.length);
  });

  it('refuses to replace OUT without --overwrite', async () => {
    const out = path.join(w.base, 'exists.aci');
    fs.writeFileSync(out, 'keep');
    const r = await build([buildDir(), out]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
    expect(fs.readFileSync(out, 'utf8')).toBe('keep');
    expect((await build(['--overwrite', buildDir(), out])).code).toBe(0);
  });

  const invalid: [string, unknown, string][] = [
    ['upper-case name', { ...base, name: 'Example.com/Bad_Name' }, 'name'],
    ['wrong acKind', { ...base, acKind: 'imagemanifest' }, 'acKind'],
    ['bad acVersion', { ...base, acVersion: 'v0.8.11' }, 'acVersion'],
    ['missing name', { acKind: 'ImageManifest', acVersion: '0.8.11' }, 'name'],
    ['bad os label', { ...base, labels: [{ name: 'os', value: 'windows' }] }, 'labels'],
    ['label called name', { ...base, labels: [{ name: 'name', value: 'x' }] }, 'labels'],
    ['app without group', { ...base, app: { exec: ['/bin/true'], user: '0' } }, 'app.group'],
    ['relative workingDirectory', { ...base, app: { ...app, workingDirectory: 'tmp' } }, 'app.workingDirectory'],
    ['bad environment name', { ...base, app: { ...app, environment: [{ name: '0DEBUG', value: '1' }] } }, 'app.environment[0].name'],
    ['port 0', { ...base, app: { ...app, ports: [{ name: 'http', protocol: 'tcp', port: 0 }] } }, 'app.ports[0].port'],
    ['empty dependency name', { ...base, dependencies: [{ imageName: '' }] }, 'dependencies[0].imageName'],
    ['sha256 dependency ID', { ...base, dependencies: [{ imageName: 'example.com/x', imageID: `sha256-${'a'.repeat(64)}` }] }, 'dependencies[0].imageID'],
    ['relative whitelist path', { ...base, pathWhitelist: ['/ok', 'etc/conf'] }, 'pathWhitelist[1]'],
    ['ftp homepage', { ...base, annotations: [{ name: 'homepage', value: 'ftp://example.com' }] }, 'annotations.homepage'],
    ['not JSON', '{"acKind": "ImageManifest",', 'manifest'],
  ];
  for (const [what, manifest, field] of invalid) {
    it(`rejects a manifest with ${what}, naming ${field}`, async () => {
      const out = path.join(w.base, `bad${n}.aci`);
      const r = await build([buildDir(manifest), out]);
      expect(r.code).toBe(254);
      expect(r.stdout).toBe('');
      expect(errorLines(r)).toHaveLength(1);
      expect(r.stderr.startsWith(`image build: ${field}`), r.stderr).toBe(true);
      expect(fs.existsSync(out)).toBe(false);
    });
  }

  it('a directory without manifest or rootfs is refused', async () => {
    const noManifest = buildDir();
    fs.rmSync(path.join(noManifest, 'manifest'));
    const noRootfs = buildDir();
    fs.rmSync(path.join(noRootfs, 'rootfs'), { recursive: true });
    for (const [d, says] of [[noManifest, 'manifest'], [noRootfs, 'rootfs']] as const) {
      const r = await build([d, path.join(w.base, 'never.aci')]);
      expect(r.code).toBe(254);
      expect(errorLines(r)).toHaveLength(1);
      expect(r.stderr).toContain(says);
    }
    expect(fs.existsSync(path.join(w.base, 'never.aci'))).toBe(false);
  });
});
