// Hostile OCI images: layer entries that escape the tree (names, symlinks, hardlinks), whiteout
// attacks, and manifests and blobs that lie. Each keeps a victim directory beside the store that
// must stay untouched; the images are unsigned (--insecure-options=image), so only the
// importer's own checks can refuse them, and a refused image leaves nothing in the store.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'vitest';
import { expectRejected, makeVictim, climb, snapshot } from '../helpers/victim.js';
import { makeWorld, type RunResult, type World } from '../helpers/cli.js';
import type { RawEntry } from '../helpers/images.js';
import { buildImage, buildIndex, imageBlobs, OCI, sha256, writeImageLayout, writeLayout, type Blob, type LayerSpec } from '../helpers/oci-images.js';

let world: World;
let victim: string;

beforeEach(() => {
  world = makeWorld('capsule-oc-sec-');
  victim = makeVictim(world);
});
afterEach(() => world.cleanup());

async function fetchLayout(dir: string): Promise<RunResult> {
  return world.run(['--insecure-options=image', 'fetch', `oci:${dir}`]);
}

/** Fetches an image of the given layers (bottom first) and expects the refusal `problem`. */
async function refused(layers: (RawEntry[] | LayerSpec)[], problem: RegExp): Promise<void> {
  const img = buildImage({ layers: layers.map((l) => (Array.isArray(l) ? { entries: l } : l)) });
  const dir = writeImageLayout(path.join(world.base, 'layout'), img);
  const before = snapshot(world.base, world.dir);
  const r = await fetchLayout(dir);
  await expectRejected(world, victim, r, before, problem, { unsigned: true });
}

describe('layer entries that escape the tree', () => {
  it('".." in an entry name', () => refused([[{ path: `${climb(victim)}/x`, body: 'pwned' }]], /contains "\.\."/));
  it('an absolute entry name', () => refused([[{ path: `${victim}/x`, body: 'pwned' }]], /absolute layer entry name/));
  it('a symlink to the victim, then a file written through it (same layer)', () =>
    refused([[{ path: 'esc', type: 'SymbolicLink', linkpath: victim }, { path: 'esc/x', body: 'pwned' }]], /would go through the symlink "esc"/));
  it('a symlink to the victim in a lower layer, a file through it in the upper one', () =>
    refused([[{ path: 'esc', type: 'SymbolicLink', linkpath: victim }], [{ path: 'esc/secret', body: 'pwned' }]], /would go through the symlink "esc"/));
  it('a hardlink to a file outside (absolute target)', () => refused([[{ path: 'h', type: 'Link', linkpath: `${victim}/secret` }]], /absolute hardlink target/));
  it('a hardlink to a file outside ("..")', () => refused([[{ path: 'h', type: 'Link', linkpath: `${climb(victim)}/secret` }]], /hardlink target .* contains "\.\."/));
  it('a hardlink through a symlink of a lower layer', () =>
    refused([[{ path: 'esc', type: 'SymbolicLink', linkpath: victim }], [{ path: 'h', type: 'Link', linkpath: 'esc/secret' }]], /not a regular file of this image/));
  it('a layer whose media type lies about its compression', () =>
    refused([{ entries: [{ path: 'a', body: 'a' }], compression: 'gzip', mediaType: OCI.layerZstd }], /gzip-compressed but its media type/));
});

describe('whiteout attacks', () => {
  it('a whiteout name with ".." (.wh...)', () => refused([[{ path: 'a', body: 'a' }], [{ path: '.wh...', body: '' }]], /invalid whiteout/));
  it('a whiteout of a path through a symlink (esc/.wh.secret, esc -> victim)', () =>
    refused([[{ path: 'esc', type: 'SymbolicLink', linkpath: victim }], [{ path: 'esc/.wh.secret', body: '' }]], /would go through the symlink "esc"/));
  it('a whiteout through a ".." path', () => refused([[{ path: 'a', body: 'a' }], [{ path: `${climb(victim)}/.wh.secret`, body: '' }]], /contains "\.\."/));
  it('a whiteout of the root (.wh..)', () => refused([[{ path: 'a', body: 'a' }], [{ path: '.wh..', body: '' }]], /invalid whiteout/));
  it('a bare whiteout (.wh.)', () => refused([[{ path: 'a', body: 'a' }], [{ path: 'dir/.wh.', body: '' }]], /invalid whiteout/));
  it('an entry below a whiteout name (.wh.x/y)', () => refused([[{ path: '.wh.x/y', body: 'y' }]], /below a whiteout name/));
});

describe('manifests and blobs that lie', () => {
  it('a blob digest mismatch (a layer changed after its manifest was written)', async () => {
    const img = buildImage({ layers: [{ entries: [{ path: 'a', body: 'a' }] }] });
    const dir = writeImageLayout(path.join(world.base, 'layout'), img);
    fs.writeFileSync(path.join(dir, 'blobs/sha256', img.layers[0]!.digest.slice(7)), Buffer.concat([img.layers[0]!.bytes.subarray(0, -1), Buffer.from([img.layers[0]!.bytes.at(-1)! ^ 1])]));
    const before = snapshot(world.base, world.dir);
    await expectRejected(world, victim, await fetchLayout(dir), before, /layer does not match its digest|digest/, { unsigned: true });
  });

  it('a manifest whose size lies (index.json says fewer bytes than it has)', async () => {
    const img = buildImage({ layers: [{ entries: [{ path: 'a', body: 'a' }] }] });
    const lying: Blob = { ...img.manifest, size: img.manifest.size - 10 };
    const dir = writeLayout(path.join(world.base, 'layout'), [{ top: lying }], imageBlobs(img));
    const before = snapshot(world.base, world.dir);
    await expectRejected(world, victim, await fetchLayout(dir), before, /manifest .* has \d+ bytes, more than \d+ allowed/, { unsigned: true });
  });

  it('a manifest bigger than the bound (4 MiB)', async () => {
    const img = buildImage({ layers: [{ entries: [{ path: 'a', body: 'a' }] }] });
    const m = JSON.parse(img.manifest.bytes.toString()) as Record<string, unknown>;
    m.annotations = { padding: 'x'.repeat(5 * 1024 * 1024) };
    const bytes = Buffer.from(JSON.stringify(m));
    const big: Blob = { digest: sha256(bytes), size: bytes.length, mediaType: OCI.manifest, bytes };
    const dir = writeLayout(path.join(world.base, 'layout'), [{ top: big }], imageBlobs(img));
    const before = snapshot(world.base, world.dir);
    await expectRejected(world, victim, await fetchLayout(dir), before, /more than 4194304/, { unsigned: true });
  });

  it('an index that points to itself', async () => {
    // A content-addressed index cannot name its own digest, but a source can serve one: the
    // blob named D holds an index whose only entry is D.
    const fake = 'sha256:' + 'ab'.repeat(32);
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI.index, manifests: [{ mediaType: OCI.index, digest: fake, size: 200, platform: { os: 'linux', architecture: 'amd64' } }] }));
    const dir = writeLayout(path.join(world.base, 'layout'), [{ top: { digest: fake, size: bytes.length, mediaType: OCI.index, bytes } }], []);
    const before = snapshot(world.base, world.dir);
    await expectRejected(world, victim, await fetchLayout(dir), before, /does not match the digest it was asked by|refers to itself/, { unsigned: true });
  });

  it('nested indexes deeper than the bound', async () => {
    const img = buildImage({ layers: [{ entries: [{ path: 'a', body: 'a' }] }] });
    let top: Blob = img.manifest;
    const blobs: Blob[] = [...imageBlobs(img)];
    for (let i = 0; i < 6; i++) {
      const idx = buildIndex([{ image: { manifest: top, config: img.config, layers: [] }, platform: { os: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch } }]);
      blobs.push(idx);
      top = idx;
    }
    const dir = writeLayout(path.join(world.base, 'layout'), [{ top }], blobs);
    const before = snapshot(world.base, world.dir);
    await expectRejected(world, victim, await fetchLayout(dir), before, /indexes nested deeper than 4 levels/, { unsigned: true });
  });
});
