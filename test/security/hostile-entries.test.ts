// Hostile archive entries: writing, linking or creating something outside the extraction root
// (rkt#904, CVE-2014-6407/9356, node-tar CVE-2018-20834 / CVE-2021-32803 / CVE-2021-37701),
// duplicates, device nodes, FIFOs and setuid files. Each test keeps a victim directory beside
// the store and checks it afterwards; the image is unsigned (--insecure-options=image) so
// only the archive checks can reject it (test/security/signed-hostile.test.ts signs one).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { climb, listAll } from '../helpers/victim.js';
import { useVictimWorld } from '../helpers/victim-world.js';
import { manifestJson, rawTar, simpleAci, type RawEntry } from '../helpers/images.js';

const h = useVictimWorld();
const { expectRefusal, fetchHostile } = h;

describe('path traversal in entry names', () => {
  // Joined naively onto the temp tree this lands in the store's cas/tmp (the leftover checks see it);
  // the next case climbs all the way to the real victim.
  it('".." entry name (rootfs/../../victim/x)', async () => {
    const { r, before } = await fetchHostile([{ path: 'rootfs/../../victim/x', body: 'pwned' }]);
    await expectRefusal(r, before, /entry name "rootfs\/\.\.\/\.\.\/victim\/x" contains "\.\."/);
  });

  it('".." entry name deep enough to reach the victim from the extraction root', async () => {
    const { r, before } = await fetchHostile([{ path: `rootfs/${climb(h.victim)}/x`, body: 'pwned' }]);
    await expectRefusal(r, before, /entry name ".*" contains "\.\."/);
  });

  it('absolute entry name pointing into the victim directory', async () => {
    const { r, before } = await fetchHostile([{ path: `${h.victim}/x`, body: 'pwned' }]);
    await expectRefusal(r, before, /absolute entry name ".*\/victim\/x"/);
  });
});

describe('writing through a symlink', () => {
  it('absolute symlink to the victim, then a file written through it', async () => {
    const { r, before } = await fetchHostile([
      { path: 'rootfs/a', type: 'SymbolicLink', linkpath: h.victim },
      { path: 'rootfs/a/pwned', body: 'pwned' },
    ]);
    await expectRefusal(r, before, /entry "rootfs\/a\/pwned" would be written through the symlink "rootfs\/a"/);
  });

  it('relative ../../.. symlink to the victim, then a file written through it', async () => {
    const { r, before } = await fetchHostile([
      { path: 'rootfs/a', type: 'SymbolicLink', linkpath: climb(h.victim) },
      { path: 'rootfs/a/pwned', body: 'pwned' },
    ]);
    await expectRefusal(r, before, /entry "rootfs\/a\/pwned" would be written through the symlink "rootfs\/a"/);
  });

  it('symlink to a symlink to the victim, then a directory and file written through the chain', async () => {
    const { r, before } = await fetchHostile([
      { path: 'rootfs/b', type: 'SymbolicLink', linkpath: h.victim },
      { path: 'rootfs/a', type: 'SymbolicLink', linkpath: 'b' },
      { path: 'rootfs/a/sub/', type: 'Directory' },
      { path: 'rootfs/a/sub/pwned', body: 'pwned' },
    ]);
    await expectRefusal(r, before, /would be written through the symlink "rootfs\/a"/);
  });

  it('rootfs itself is a symlink to the victim', async () => {
    const { r, before } = await fetchHostile(
      rawTar([{ path: 'rootfs', type: 'SymbolicLink', linkpath: h.victim }, { path: 'rootfs/pwned', body: 'pwned' }, { path: 'manifest', body: manifestJson('example.com/hostile') }], { gzip: true }),
    );
    await expectRefusal(r, before, /rootfs is not a directory/);
  });
});

describe('hardlinks to files outside the image', () => {
  it('hardlink with linkpath ../../victim/secret', async () => {
    const { r, before } = await fetchHostile([{ path: 'rootfs/h', type: 'Link', linkpath: '../../victim/secret' }]);
    await expectRefusal(r, before, /hardlink target "\.\.\/\.\.\/victim\/secret" contains "\.\."/);
  });

  it('hardlink with a linkpath climbing to the victim from the extraction root', async () => {
    const { r, before } = await fetchHostile([{ path: 'rootfs/h', type: 'Link', linkpath: `rootfs/${climb(h.victim)}/secret` }]);
    await expectRefusal(r, before, /hardlink target ".*" contains "\.\."/);
  });

  it('hardlink with an absolute linkpath to the victim', async () => {
    const { r, before } = await fetchHostile([{ path: 'rootfs/h', type: 'Link', linkpath: `${h.victim}/secret` }]);
    await expectRefusal(r, before, /absolute hardlink target ".*\/victim\/secret"/);
  });

  it('hardlink to a symlink that points at the victim', async () => {
    const { r, before } = await fetchHostile([
      { path: 'rootfs/s', type: 'SymbolicLink', linkpath: `${h.victim}/secret` },
      { path: 'rootfs/h', type: 'Link', linkpath: 'rootfs/s' },
    ]);
    await expectRefusal(r, before, /hardlink "rootfs\/h" points to "rootfs\/s", which is not a regular file/);
  });

  it('hardlink whose target path goes through a symlink to the victim', async () => {
    const { r, before } = await fetchHostile([
      { path: 'rootfs/d', type: 'SymbolicLink', linkpath: h.victim },
      { path: 'rootfs/h', type: 'Link', linkpath: 'rootfs/d/secret' },
    ]);
    await expectRefusal(r, before, /hardlink "rootfs\/h" points to "rootfs\/d\/secret", which is not a regular file/);
  });
});

describe('duplicate entries', () => {
  it('the same file twice', async () => {
    const { r, before } = await fetchHostile([{ path: 'rootfs/f', body: 'first' }, { path: 'rootfs/f', body: 'second' }]);
    await expectRefusal(r, before, /duplicate file entry in archive: "rootfs\/f"/);
  });

  it('the same file twice, spelled differently (./rootfs/f)', async () => {
    const { r, before } = await fetchHostile([{ path: 'rootfs/f', body: 'first' }, { path: './rootfs/f', body: 'second' }]);
    await expectRefusal(r, before, /duplicate file entry in archive: "rootfs\/f"/);
  });

  it('directory, then a symlink to the victim with the same name, then a file through it (CVE-2021-32803)', async () => {
    const { r, before } = await fetchHostile([
      { path: 'rootfs/d/', type: 'Directory' },
      { path: 'rootfs/d', type: 'SymbolicLink', linkpath: h.victim },
      { path: 'rootfs/d/pwned', body: 'pwned' },
    ]);
    await expectRefusal(r, before, /duplicate file entry in archive: "rootfs\/d"/);
  });

  it('implicit parent directory, then a symlink with its name, then a file through it', async () => {
    const { r, before } = await fetchHostile([
      { path: 'rootfs/d/x', body: 'x' },
      { path: 'rootfs/d', type: 'SymbolicLink', linkpath: h.victim },
      { path: 'rootfs/d/pwned', body: 'pwned' },
    ]);
    await expectRefusal(r, before, /duplicate file entry in archive: "rootfs\/d"/);
  });
});

describe('device nodes, FIFOs and privilege bits', () => {
  it('character device (/dev/mem: 1,1)', async () => {
    const { r, before } = await fetchHostile([{ path: 'rootfs/mem', type: 'CharacterDevice', devmaj: 1, devmin: 1, mode: 0o666 }]);
    await expectRefusal(r, before, /device node "rootfs\/mem" is not allowed/);
  });

  it('block device (8,0)', async () => {
    const { r, before } = await fetchHostile([{ path: 'rootfs/sda', type: 'BlockDevice', devmaj: 8, devmin: 0, mode: 0o666 }]);
    await expectRefusal(r, before, /device node "rootfs\/sda" is not allowed/);
  });

  it('FIFO', async () => {
    const { r, before } = await fetchHostile([{ path: 'rootfs/fifo', type: 'FIFO', mode: 0o666 }]);
    await expectRefusal(r, before, /FIFO "rootfs\/fifo" is not allowed/);
  });

  it('setuid file', async () => {
    const { r, before } = await fetchHostile([{ path: 'rootfs/bin/su', body: '#!/bin/sh\n', mode: 0o4755 }]);
    await expectRefusal(r, before, /"rootfs\/bin\/su" has the setuid bit set/);
  });

  it('setgid file', async () => {
    const { r, before } = await fetchHostile([{ path: 'rootfs/bin/wall', body: '#!/bin/sh\n', mode: 0o2755 }]);
    await expectRefusal(r, before, /"rootfs\/bin\/wall" has the setgid bit set/);
  });
});

describe('failure late in the archive', () => {
  const good: RawEntry[] = [
    { path: 'rootfs/etc/', type: 'Directory' },
    { path: 'rootfs/etc/hostname', body: 'box\n' },
    { path: 'rootfs/usr/lib/big.bin', body: Buffer.alloc(2 * 1024 * 1024, 7) },
    { path: 'rootfs/bin/sh', body: '#!/bin/true\n', mode: 0o755 },
    { path: 'rootfs/bin/ash', type: 'Link', linkpath: 'rootfs/bin/sh' },
    { path: 'rootfs/lib', type: 'SymbolicLink', linkpath: 'usr/lib' },
  ];

  it('valid files first, then a symlink escape: nothing is left anywhere', async () => {
    const { r, before } = await fetchHostile([...good, { path: 'rootfs/x', type: 'SymbolicLink', linkpath: h.victim }, { path: 'rootfs/x/pwned', body: 'pwned' }]);
    await expectRefusal(r, before, /would be written through the symlink "rootfs\/x"/);
    // The same files without the bad entry do import, so they were extracted before the failure and then removed.
    fs.writeFileSync(path.join(h.world.base, 'good.aci'), simpleAci('example.com/good', good));
    const ok = await h.world.run(['--insecure-options=image', 'fetch', path.join(h.world.base, 'good.aci')]);
    expect(ok.code).toBe(0);
    expect(listAll(path.join(h.world.dir, 'tree')).some((p) => p.endsWith('usr/lib/big.bin'))).toBe(true);
  });

  it('valid files first, then a hardlink to the victim', async () => {
    const { r, before } = await fetchHostile([...good, { path: 'rootfs/etc/shadow', type: 'Link', linkpath: `${h.victim}/secret` }]);
    await expectRefusal(r, before, /absolute hardlink target/);
  });
});
