import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { snapshot } from '../helpers/store-check.js';
import { buildImage, writeImageLayout, type BuiltImage } from '../helpers/oci-images.js';

/** skopeo as users run it (no policy file of its own in a test world). */
function skopeo(...args: string[]): void {
  execFileSync('skopeo', ['--insecure-policy', 'copy', '-q', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function twoLayers(top: 'gzip' | 'zstd'): BuiltImage {
  return buildImage({
    layers: [
      { entries: [{ path: 'etc/', type: 'Directory' }, { path: 'etc/base', body: 'base' }, { path: 'etc/gone', body: 'x' }] },
      { compression: top, entries: [{ path: 'etc/.wh.gone', body: '' }, { path: 'app', body: 'app' }] },
    ],
    run: { Cmd: ['/app'] },
  });
}

describe('OCI inputs made by skopeo: docker-archive:, oci-archive:, Docker schema 2, zstd layers', () => {
  let w: World;
  let src: string;
  let zsrc: string;
  beforeEach(() => {
    w = makeWorld('capsule-oc-');
    // Docker's formats have no zstd: the docker-archive and v2s2 cases start from gzip layers.
    src = writeImageLayout(path.join(w.base, 'src'), twoLayers('gzip'), '1.0');
    zsrc = writeImageLayout(path.join(w.base, 'zsrc'), twoLayers('zstd'), '1.0');
  });
  afterEach(() => w.cleanup());

  const rendered = async (name: string): Promise<Record<string, string>> => {
    const out = path.join(w.base, `out-${Math.random().toString(36).slice(2)}`);
    const r = await w.run(['image', 'render', '--rootfs-only', name, out]);
    expect(r.code, r.stderr).toBe(0);
    return snapshot(out);
  };
  const want = { app: 'app', etc: 'dir', 'etc/base': 'base' };

  it('docker-archive: written by skopeo (docker save format), named by its RepoTags', async () => {
    const file = path.join(w.base, 'saved.tar');
    skopeo(`oci:${src}:1.0`, `docker-archive:${file}:example.com/team/app:1.0`);
    const r = await w.run(['--insecure-options=image', 'fetch', `docker-archive:${file}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect((await w.run(['image', 'list', '--no-legend', '--fields', 'name'])).stdout.trim()).toBe('example.com/team/app:1.0');
    expect(await rendered('example.com/team/app:1.0')).toEqual(want);
    // By NAME:TAG; a name the archive lacks lists what it has.
    const again = await w.run(['--insecure-options=image', 'fetch', `docker-archive:${file}:example.com/team/app:1.0`]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(r.stdout);
    const miss = await w.run(['--insecure-options=image', 'fetch', `docker-archive:${file}:example.com/team/app:2.0`]);
    expect(miss.code).toBe(254);
    expect(errorLines(miss).filter((l) => !l.includes('verification has been disabled'))).toEqual([
      expect.stringMatching(/no image tagged "example\.com\/team\/app:2\.0" \(it has "example\.com\/team\/app:1\.0"\)$/),
    ]);
  });

  it('oci-archive: written by skopeo', async () => {
    const file = path.join(w.base, 'image.oci.tar');
    skopeo(`oci:${src}:1.0`, `oci-archive:${file}:1.0`);
    const r = await w.run(['--insecure-options=image', 'fetch', `oci-archive:${file}:1.0`]);
    expect(r.code, r.stderr).toBe(0);
    expect(await rendered(r.stdout.trim().slice(0, 20))).toEqual(want);
  });

  it('Docker schema 2 media types (skopeo --format v2s2)', async () => {
    const dst = path.join(w.base, 'v2s2');
    skopeo('--format', 'v2s2', `oci:${src}:1.0`, `oci:${dst}:1.0`);
    const r = await w.run(['--insecure-options=image', 'fetch', `oci:${dst}:1.0`]);
    expect(r.code, r.stderr).toBe(0);
    const m = await w.run(['image', 'cat-manifest', 'localhost/v2s2:1.0']);
    expect(JSON.parse(m.stdout)).toMatchObject({ mediaType: 'application/vnd.docker.distribution.manifest.v2+json' });
    expect(await rendered('localhost/v2s2:1.0')).toEqual(want);
  });

  it('zstd layers as written (OCI layer+zstd)', async () => {
    const r = await w.run(['--insecure-options=image', 'fetch', `oci:${zsrc}:1.0`]);
    expect(r.code, r.stderr).toBe(0);
    expect(await rendered('localhost/zsrc:1.0')).toEqual(want);
    // skopeo's own zstd output reads too.
    const dst = path.join(w.base, 'zstd-by-skopeo');
    skopeo('--dest-compress-format', 'zstd', `oci:${src}:1.0`, `oci:${dst}:1.0`);
    const s = await w.run(['--insecure-options=image', 'fetch', `oci:${dst}:1.0`]);
    expect(s.code, s.stderr).toBe(0);
    expect(await rendered('localhost/zstd-by-skopeo:1.0')).toEqual(want);
  });
});
