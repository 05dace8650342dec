// Hostile mount targets: an image whose mount point (or a --mount target) leads through a symlink
// or ".." to a host path. The helper resolves every target inside the app's root (as
// RESOLVE_IN_ROOT would: absolute links and ".." stop at the root) and mounts on the fd the walk
// ended at, so the volume lands inside the app's root at the resolved path and the victim outside
// stays untouched (rkt resolved these in the pod's root: CVE-2019-10144's family).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage } from '../helpers/busybox-image.js';
import { makePodWorld, podSkipReason, startPod, stopAndCollect, waitFor, type PodWorld } from '../helpers/pods.js';
import { makeVictim, snapshot } from '../helpers/victim.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping mount-target security tests: ${skip}\n`);

describe.skipIf(skip !== null)('hostile mount targets stay inside the app root', () => {
  let w: PodWorld;
  let victim: string;
  let before: Record<string, string>;
  let hostDir: string;
  const hostEtcName = `capsule-pr-${process.pid}-${Date.now()}`;
  beforeAll(async () => {
    w = await makePodWorld('capsule-pr-mounts-');
    victim = makeVictim(w);
    before = snapshot(victim, '');
    hostDir = path.join(w.base, 'host-volume');
    fs.mkdirSync(hostDir);
    fs.writeFileSync(path.join(hostDir, 'marker'), 'volume\n');
  }, 120_000);
  afterAll(async () => {
    expect(snapshot(victim, '')).toEqual(before);
    expect(fs.existsSync(path.join('/etc', hostEtcName))).toBe(false);
    await w?.teardown();
  });

  const image = (name: string, mountPath: string, links: Record<string, string>): string =>
    busyboxImage(w.base, name, { mountPoints: [{ name: 'target', path: mountPath }] }, (root) => {
      for (const [at, to] of Object.entries(links)) fs.symlinkSync(to, path.join(root, at));
    });
  const run = (img: string, volumeFlags: string[], appFlags: string[], script: string) =>
    w.run(['--insecure-options=image', 'run', ...volumeFlags, img, ...appFlags, '--exec=/bin/sh', '--', '-c', script]);

  it('mount point is an absolute symlink to the victim directory on the host', async () => {
    const img = image('pr-abs-victim', '/evil', { evil: victim });
    const r = await run(img, [], [], `echo pwned > /evil/secret; echo pwned > /evil/new; cat ${victim}/secret`);
    expect(r.stdout).toBe('pwned\n');
    expect(r.code).toBe(0);
    expect(snapshot(victim, '')).toEqual(before);
  });

  it("mount point is a symlink to the host's /etc: a host volume lands on the app's /etc", async () => {
    const img = image('pr-etc', `/evil/${hostEtcName}`, { evil: '/etc' });
    const r = await run(img, [`--volume=target,kind=host,source=${hostDir}`], [], `cat /etc/${hostEtcName}/marker`);
    expect(r.stdout).toBe('volume\n');
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join('/etc', hostEtcName))).toBe(false);
  });

  it('a symlink to "/" followed by ".." components in the --mount target', async () => {
    const img = image('pr-slash', '/unused', { up: '/' });
    const target = `/up/../../..${victim}/sub`;
    const r = await run(img, [`--volume=h,kind=host,source=${hostDir}`], [`--mount=volume=h,target=${target}`], `cat ${victim}/sub/marker; echo pwned > ${victim}/secret`);
    expect(r.stdout).toBe('volume\n');
    expect(r.code).toBe(0);
    expect(snapshot(victim, '')).toEqual(before);
  });

  it('a relative symlink with enough ".." to climb out of the rootfs', async () => {
    const img = image('pr-climb', '/climb/x', { climb: `${'../'.repeat(30)}${victim.slice(1)}` });
    const r = await run(img, [], [], `echo pwned > /climb/x/f; cat ${victim}/x/f`);
    expect(r.stdout).toBe('pwned\n');
    expect(r.code).toBe(0);
    expect(snapshot(victim, '')).toEqual(before);
  });

  it('the app swaps a component of its mount point for a symlink to the victim, then `enter` mounts the volume again', async () => {
    // The pod's own root user replaces /a (holding the mount point /a/b) with a symlink to the
    // victim, through /proc/1/root too; enter's fresh mount namespace resolves /a/b again.
    // /a is made by the helper (in the overlay's upper layer), so the app can rename it.
    const img = busyboxImage(w.base, 'pr-swap', { mountPoints: [{ name: 'target', path: '/a/b' }] });
    const pod = await startPod(w, ['--insecure-options=image', `--volume=target,kind=host,source=${hostDir}`, img, '--exec=/bin/sh', '--', '-c', `mv /a /a.old && ln -s /proc/1/root${victim} /a && echo > /a.old/b/swapped; exec sleep 600`]);
    try {
      await waitFor('the swap', () => fs.existsSync(path.join(hostDir, 'swapped')));
      // The volume is at the resolved path inside the app's root; the kernel's own walk of /a (the
      // app's business) is refused at /proc/1/root, the init's root, which the app may not enter.
      const r = await w.run(['enter', pod.uuid, '/bin/sh', '-c', `cat ${victim}/b/marker; echo pwned > /a/b/secret 2>/dev/null; echo pwned > ${victim}/secret; true`]);
      expect(r.stdout).toBe('volume\n');
      expect(r.code).toBe(0);
      expect(snapshot(victim, '')).toEqual(before);
    } finally {
      await stopAndCollect(w, pod);
      fs.rmSync(path.join(hostDir, 'swapped'), { force: true });
      fs.rmSync(path.join(hostDir, 'secret'), { force: true });
    }
  });

  it('a symlink loop as the mount point fails the app, naming the target', async () => {
    const img = image('pr-loop', '/loop/x', { loop: '/loop' });
    const r = await run(img, [], [], 'echo never');
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/app pr-loop: mount volume \/capsule\/volumes\/pr-loop-target on \/loop\/x: Too many levels of symbolic links/);
    expect(r.code).toBe(254);
  });
});
