// Tar parser differentials (CVE-2025-62518 "TARmageddon" class): archives whose bytes GNU tar,
// libarchive, Go's archive/tar and Capsule could read as different entries. A signature or a
// scanner vouches for one reading; the extractor must not act on another. Each shape is refused
// at fetch with one line naming the entry, nothing is stored and the victim beside the store
// (which the hidden reading aims at) stays untouched.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, it } from 'vitest';
import { encodeHeader } from '../../src/aci/tar-writer.js';
import { useVictimWorld } from '../helpers/victim-world.js';
import { manifestJson } from '../helpers/images.js';
import { entry, meta, pax, tarOf, typed } from '../helpers/raw-tar.js';
import { climb, expectRejected, snapshot } from '../helpers/victim.js';

const h = useVictimWorld();

/** Fetches `rootfs/`, the hostile parts, then the manifest, unsigned; expects the refusal. */
async function refused(parts: Buffer[], problem: RegExp): Promise<void> {
  const file = path.join(h.world.base, 'hostile.aci');
  const tar = tarOf(entry({ path: 'rootfs/', type: 'Directory', mode: 0o755 }), ...parts, entry({ path: 'manifest' }, manifestJson('example.com/hostile')));
  fs.writeFileSync(file, zlib.gzipSync(tar));
  const before = snapshot(h.world.base, h.world.dir);
  const r = await h.world.run(['--insecure-options=image', 'fetch', file]);
  await expectRejected(h.world, h.victim, r, before, problem, { unsigned: true });
}

const escape = (): string => `rootfs/${climb(path.join(h.victim, 'secret'))}`;

describe('one meaning for every byte of an archive', () => {
  it('ustar size 0 with a PAX size that swallows the next header (smuggled entry)', async () => {
    // A reader that trusts the ustar 0 sees the next block as a header writing into the victim.
    const smuggled = entry({ path: escape() }, 'pwned');
    await refused([meta('ExtendedHeader', pax({ size: String(smuggled.length) })), encodeHeader({ path: 'rootfs/f', type: 'File', mode: 0o644, size: 0 }), smuggled], /inconsistent sizes for "rootfs\/f": header 0, pax \d+/);
  });

  it('GNU long name and PAX path on the same entry (GNU tar takes one, Capsule took the other)', async () => {
    await refused([meta('NextFileHasLongPath', `${escape()}\0`), meta('ExtendedHeader', pax({ path: 'rootfs/harmless' })), entry({ path: 'rootfs/x' }, 'pwned')], /tar entry "rootfs\/x" has both a GNU long name .* and a PAX path "rootfs\/harmless"/);
  });

  it.each([
    ['N', /tar entry "rootfs\/x" is an old GNU long-name entry \(type N\)/],
    ['7', /tar entry "rootfs\/x" is a contiguous file \(type 7\)/],
  ])('type %s entry (read as a file by some tools, as metadata by others)', async (t, problem) => {
    await refused([typed(t, 'rootfs/x', 0)], problem);
  });

  it('global PAX header whose path renames every later entry', async () => {
    await refused([meta('GlobalExtendedHeader', pax({ path: escape() })), entry({ path: 'rootfs/a' }, 'pwned')], /global PAX header "PaxHeader\/x" sets "path", which would apply to every later entry/);
  });

  it('PAX record that is not UTF-8 (decoded lossily, or the record dropped)', async () => {
    const rec = Buffer.concat([Buffer.from(' path=rootfs/caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    await refused([meta('ExtendedHeader', Buffer.concat([Buffer.from(String(rec.length + 2)), rec])), entry({ path: 'rootfs/x' }, 'x')], /a record in the PAX header of "rootfs\/x" is not valid UTF-8/);
  });

  it('NUL inside a PAX path (C readers cut it short)', async () => {
    await refused([meta('ExtendedHeader', pax({ path: `rootfs/ok\0/${climb(h.victim)}` })), entry({ path: 'rootfs/x' }, 'x')], /PAX header of "rootfs\/x" path .* contains a NUL byte/);
  });
});
