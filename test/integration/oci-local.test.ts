import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { snapshot } from '../helpers/store-check.js';
import { buildImage, buildIndex, hostGoArch, imageBlobs, writeImageLayout, writeLayout, type BuiltImage } from '../helpers/oci-images.js';

/** The multi-layer image: whiteouts, an opaque directory and a hardlink to a lower layer's file. */
function layered(): BuiltImage {
  return buildImage({
    layers: [
      {
        entries: [
          { path: 'etc/', type: 'Directory' },
          { path: 'etc/gone', body: 'lower' },
          { path: 'etc/kept', body: 'kept' },
          { path: 'opaque/', type: 'Directory' },
          { path: 'opaque/lower-a', body: 'a' },
          { path: 'opaque/sub/', type: 'Directory' },
          { path: 'opaque/sub/lower-b', body: 'b' },
          { path: 'data', body: 'shared inode' },
          { path: 'olddir/', type: 'Directory' },
          { path: 'olddir/x', body: 'x' },
        ],
      },
      {
        compression: 'none',
        entries: [
          // The layer's own entry before its opaque marker: it must survive the marker.
          { path: 'opaque/', type: 'Directory' },
          { path: 'opaque/upper', body: 'upper' },
          { path: 'opaque/.wh..wh..opq', body: '' },
          { path: 'etc/.wh.gone', body: '' },
          { path: '.wh.olddir', body: '' },
          { path: 'link', type: 'Link', linkpath: 'data' },
          { path: 'etc/kept', body: 'replaced' },
        ],
      },
    ],
  });
}

describe('OCI image layouts (oci:, oci-archive:)', () => {
  let w: World;
  beforeEach(() => {
    w = makeWorld('capsule-oc-');
  });
  afterEach(() => w.cleanup());

  it('fetches a multi-layer image: whiteouts, opaque dir, hardlink across layers; ID = config digest', async () => {
    const img = layered();
    const dir = writeImageLayout(path.join(w.base, 'layout'), img, 'v1');
    const r = await w.run(['--insecure-options=image', 'fetch', `oci:${dir}:v1`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${img.config.digest}\n`);
    expect(r.stderr).toContain('image signature verification has been disabled');

    const list = await w.run(['image', 'list', '--no-legend', '--fields', 'id,name']);
    expect(list.stdout.trim().split(/\s+/)).toEqual([img.config.digest.slice(0, 'sha256:'.length + 12), 'localhost/layout:v1']);

    const out = path.join(w.base, 'out');
    const rr = await w.run(['image', 'render', '--rootfs-only', img.config.digest.slice(0, 20), out]);
    expect(rr.code, rr.stderr).toBe(0);
    expect(snapshot(out)).toEqual({
      data: 'shared inode',
      link: 'shared inode',
      etc: 'dir',
      'etc/kept': 'replaced',
      opaque: 'dir',
      'opaque/upper': 'upper',
    });
    expect(fs.statSync(path.join(out, 'link')).ino).toBe(fs.statSync(path.join(out, 'data')).ino);

    // Blobs are stored as fetched, under their sha256.
    for (const b of imageBlobs(img)) expect(fs.readFileSync(path.join(w.dir, 'cas/blob/sha256', b.digest.slice(7, 9), b.digest.slice(7)))).toEqual(b.bytes);

    const cat = await w.run(['image', 'cat-manifest', '--pretty-print=false', 'localhost/layout:v1']);
    expect(cat.stdout).toBe(`${img.manifest.bytes.toString()}\n`);
    const cfg = await w.run(['image', 'cat-manifest', '--config', '--pretty-print=false', img.config.digest.slice(0, 14)]);
    expect(cfg.stdout).toBe(`${img.config.bytes.toString()}\n`);

    const v = await w.run(['image', 'verify', 'localhost/layout:v1']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain('successfully verified checksum for image');

    // image export writes an oci-archive that oci-archive:FILE:TAG reads back, same ID.
    const archive = path.join(w.base, 'exported.tar');
    expect((await w.run(['image', 'export', 'localhost/layout:v1', archive])).code).toBe(0);
    const w2 = makeWorld('capsule-oc-');
    try {
      const again = await w2.run(['--insecure-options=image', 'fetch', `oci-archive:${archive}:v1`]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe(`${img.config.digest}\n`);
      expect((await w2.run(['image', 'list', '--no-legend', '--fields', 'name'])).stdout.trim()).toBe('localhost/exported:v1');
    } finally {
      w2.cleanup();
    }

    const rm = await w.run(['image', 'rm', 'localhost/layout:v1']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(fs.readdirSync(path.join(w.dir, 'cas/blob/sha256')).flatMap((s) => fs.readdirSync(path.join(w.dir, 'cas/blob/sha256', s)))).toEqual([]);
    expect((await w.run(['image', 'list', '--no-legend'])).stdout).toBe('');
  });

  it('refuses an unsigned OCI image without --insecure-options=image, storing nothing', async () => {
    const dir = writeImageLayout(path.join(w.base, 'layout'), layered());
    const r = await w.run(['fetch', `oci:${dir}`]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual([
      `fetch: fetching image from oci:${dir}: the image is not signed: no lookaside store is configured for localhost/layout in registries.d, and the source serves no signatures (see docs/signing-oci.md, or pass --insecure-options=image to use unsigned images)`,
    ]);
    expect((await w.run(['image', 'list', '--no-legend'])).stdout).toBe('');
  });

  it('chooses the host platform from an index, --platform another; none fitting lists what there is', async () => {
    const mine = buildImage({ layers: [{ entries: [{ path: 'which', body: 'host' }] }] });
    const other = buildImage({ architecture: 's390x', layers: [{ entries: [{ path: 'which', body: 's390x' }] }] });
    const attestation = buildImage({ os: 'unknown', architecture: 'unknown', layers: [] });
    const index = buildIndex([
      { image: attestation, platform: { os: 'unknown', architecture: 'unknown' } },
      { image: other, platform: { os: 'linux', architecture: 's390x' } },
      { image: mine, platform: { os: 'linux', architecture: hostGoArch() } },
    ]);
    const dir = writeLayout(path.join(w.base, 'multi'), [{ top: index, tag: 'latest' }], [...imageBlobs(mine), ...imageBlobs(other), ...imageBlobs(attestation)]);
    const a = await w.run(['--insecure-options=image', 'fetch', `oci:${dir}`]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe(`${mine.config.digest}\n`);
    const b = await w.run(['--insecure-options=image', 'fetch', '--platform', 'linux/s390x', `oci:${dir}`]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toBe(`${other.config.digest}\n`);
    const c = await w.run(['--insecure-options=image', 'fetch', '--platform', 'linux/mips64le', `oci:${dir}`]);
    expect(c.code).toBe(254);
    const lines = errorLines(c).filter((l) => !l.includes('signature verification has been disabled'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/has no image for linux\/mips64le; it offers linux\/s390x, linux\/[a-z0-9]+/);
    expect(lines[0]).not.toContain('unknown');
  });

  it('shares layers between images: a second image with the same base stores one more layer only', async () => {
    const base = { entries: [{ path: 'base', body: 'base layer' }] };
    const one = buildImage({ layers: [base, { entries: [{ path: 'one', body: '1' }] }] });
    const two = buildImage({ layers: [base, { entries: [{ path: 'two', body: '2' }] }] });
    const d1 = writeImageLayout(path.join(w.base, 'one'), one);
    const d2 = writeImageLayout(path.join(w.base, 'two'), two);
    expect((await w.run(['--insecure-options=image', 'fetch', `oci:${d1}`])).code).toBe(0);
    // The second layout lacks the shared base blob: it must come from the store.
    fs.rmSync(path.join(d2, 'blobs/sha256', one.layers[0]!.digest.slice(7)));
    const r = await w.run(['--insecure-options=image', 'fetch', `oci:${d2}`]);
    expect(r.code, r.stderr).toBe(0);
    // Removing one image keeps the base layer the other still holds.
    expect((await w.run(['image', 'rm', 'localhost/one'])).code).toBe(0);
    expect(fs.existsSync(path.join(w.dir, 'cas/blob/sha256', one.layers[0]!.digest.slice(7, 9), one.layers[0]!.digest.slice(7)))).toBe(true);
    const out = path.join(w.base, 'out');
    expect((await w.run(['image', 'extract', '--rootfs-only', 'localhost/two', out])).code).toBe(0);
    expect(snapshot(out)).toEqual({ base: 'base layer', two: '2' });
  });

  it('a blob that does not match its digest aborts with one line; nothing is indexed', async () => {
    const img = layered();
    const dir = writeImageLayout(path.join(w.base, 'layout'), img);
    const layer = path.join(dir, 'blobs/sha256', img.layers[1]!.digest.slice(7));
    const bytes = fs.readFileSync(layer);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    fs.writeFileSync(layer, bytes);
    const r = await w.run(['--insecure-options=image', 'fetch', `oci:${dir}`]);
    expect(r.code).toBe(254);
    const lines = errorLines(r).filter((l) => !l.includes('signature verification has been disabled'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^fetch: fetching image from oci:.*digest/);
    expect((await w.run(['image', 'list', '--no-legend'])).stdout).toBe('');
    expect(fs.existsSync(path.join(w.dir, 'cas/blob/sha256', img.layers[1]!.digest.slice(7, 9), img.layers[1]!.digest.slice(7)))).toBe(false);
  });

  it('image gc removes unused OCI images with their layers, and blobs no image holds', async () => {
    const img = layered();
    const dir = writeImageLayout(path.join(w.base, 'layout'), img);
    expect((await w.run(['--insecure-options=image', 'fetch', `oci:${dir}`])).code).toBe(0);
    // A blob a killed import left behind (verified, never indexed).
    const stray = path.join(w.dir, 'cas/blob/sha256', 'ab', 'ab'.repeat(32));
    fs.mkdirSync(path.dirname(stray), { recursive: true });
    fs.writeFileSync(stray, 'stray');
    const keep = await w.run(['image', 'gc']);
    expect(keep.code, keep.stderr).toBe(0);
    expect(keep.stderr).toContain(`removed unindexed blob "sha256:${'ab'.repeat(32)}"`);
    expect((await w.run(['image', 'list', '--no-legend'])).stdout).not.toBe('');
    const gc = await w.run(['image', 'gc', '--grace-period=0s']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toContain(img.config.digest);
    expect((await w.run(['image', 'list', '--no-legend'])).stdout).toBe('');
    const left = fs.readdirSync(path.join(w.dir, 'cas/blob/sha256')).flatMap((d) => fs.readdirSync(path.join(w.dir, 'cas/blob/sha256', d)));
    expect(left).toEqual([]);
    expect(fs.readdirSync(path.join(w.dir, 'tree'))).toEqual([]);
  });

  it('pull policies: update re-reads the source and fetches only what changed; new and never use the store', async () => {
    const base = { entries: [{ path: 'base', body: 'base layer' }] };
    const v1 = buildImage({ layers: [base, { entries: [{ path: 'v', body: '1' }] }] });
    const dir = writeImageLayout(path.join(w.base, 'app'), v1);
    const first = await w.run(['--insecure-options=image', 'fetch', `oci:${dir}`]);
    expect(first.stdout).toBe(`${v1.config.digest}\n`);
    // The layout moves on: same base, a new top layer. The old base blob goes, so it must come from the store.
    const v2 = buildImage({ layers: [base, { entries: [{ path: 'v', body: '2' }] }] });
    fs.rmSync(dir, { recursive: true });
    writeImageLayout(dir, v2);
    fs.rmSync(path.join(dir, 'blobs/sha256', v2.layers[0]!.digest.slice(7)));
    const never = await w.run(['--insecure-options=image', 'fetch', '--pull-policy=never', `oci:${dir}`]);
    expect(never.stdout).toBe(`${v1.config.digest}\n`);
    const nw = await w.run(['--insecure-options=image', 'fetch', '--pull-policy=new', `oci:${dir}`]);
    expect(nw.stdout).toBe(`${v1.config.digest}\n`);
    const up = await w.run(['--insecure-options=image', 'fetch', '--pull-policy=update', `oci:${dir}`]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toBe(`${v2.config.digest}\n`);
    const other = path.join(w.base, 'nothing-here');
    const miss = await w.run(['--insecure-options=image', 'fetch', '--pull-policy=never', `oci:${other}`]);
    expect(miss.code).toBe(254);
    expect(errorLines(miss).at(-1)).toMatch(/not in the store and --pull-policy=never uses the store only/);
  });
});
