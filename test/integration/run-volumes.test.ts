// Volumes as rkt made them: implicit empty volumes start with the image's content at the mount
// point (Docker's semantics), explicit ones start empty, targets are resolved inside the app's
// root, relative targets mean relative to "/", and a volume may cover /sys or a part of it.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage } from '../helpers/busybox-image.js';
import { makePodWorld, podSkipReason, type PodWorld } from '../helpers/pods.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping run-volumes tests: ${skip}\n`);

const IMPLICIT = /^run: warning: no volume specified for mount point "[a-z]+", implicitly creating an "empty" volume/;

describe.skipIf(skip !== null)('capsule run: volumes', () => {
  let w: PodWorld;
  let image: string;
  let hostDir: string;
  beforeAll(async () => {
    w = await makePodWorld('capsule-pr-volumes-');
    image = busyboxImage(w.base, 'pr-volumes', { mountPoints: [{ name: 'data', path: '/data' }] }, (root) => {
      // The mount point is a symlink: the volume is made at (and filled from) what it names.
      fs.mkdirSync(path.join(root, 'var/lib/data'), { recursive: true, mode: 0o750 });
      fs.chmodSync(path.join(root, 'var/lib/data'), 0o750);
      fs.writeFileSync(path.join(root, 'var/lib/data/seed'), 'from the image\n');
      fs.symlinkSync('/var/lib/data', path.join(root, 'data'));
    });
    hostDir = path.join(w.base, 'host-volume');
    fs.mkdirSync(hostDir);
    fs.writeFileSync(path.join(hostDir, 'marker'), 'host\n');
  }, 120_000);
  afterAll(async () => {
    await w?.teardown();
  });

  const run = (args: string[], script: string) => w.run(['--insecure-options=image', 'run', ...args.filter((a) => a.startsWith('--v')), image, ...args.filter((a) => !a.startsWith('--v')), '--exec=/bin/sh', '--', '-c', script]);
  const warnings = (stderr: string): string[] => stderr.split('\n').filter((l) => l !== '' && !l.includes('signature verification has been disabled'));

  it("an implicit empty volume starts with the image's content at the mount point, through its symlink, with its mode", async () => {
    const uuidFile = path.join(w.base, 'uuid-implicit');
    const r = await run([`--uuid-file-save=${uuidFile}`], 'cat /data/seed; stat -c %a /var/lib/data; echo new > /data/n; cat /var/lib/data/n');
    expect(warnings(r.stderr)).toEqual([expect.stringMatching(IMPLICIT)]);
    expect(r.stdout).toBe('from the image\n750\nnew\n');
    expect(r.code).toBe(0);
    // What the app wrote is in the pod's volume, beside the image's seed.
    const pod = w.pods().find((p) => path.basename(p) === fs.readFileSync(uuidFile, 'utf8').trim()) ?? '';
    expect(fs.readdirSync(path.join(pod, 'volumes/pr-volumes-data')).sort()).toEqual(['n', 'seed']);
  });

  it('an explicit kind=empty volume stays empty', async () => {
    const r = await run(['--volume=data,kind=empty'], 'ls -A /data/ /var/lib/data/; echo end');
    expect(r.stdout).toBe('/data/:\n\n/var/lib/data/:\nend\n');
    expect(r.code).toBe(0);
  });

  it('a relative --mount target is relative to "/"; ".." cannot climb above the root', async () => {
    const r = await run([`--volume=h,kind=host,source=${hostDir}`, '--mount=volume=h,target=srv/x', '--mount=volume=h,target=/tmp/../../../../opt/y'], 'cat /srv/x/marker /opt/y/marker');
    expect(r.stdout).toBe('host\nhost\n');
    expect(r.code).toBe(0);
  });

  it('an empty volume on /sys hides /sys', async () => {
    const r = await run(['--volume=s,kind=empty', '--mount=volume=s,target=/sys'], 'ls -A /sys; echo end');
    expect(r.stdout).toBe('end\n');
    expect(r.code).toBe(0);
  });

  it('a host volume over /sys/class is seen there, the rest of /sys stays', async () => {
    const r = await run([`--volume=h,kind=host,source=${hostDir},readOnly=true`, '--mount=volume=h,target=/sys/class'], 'cat /sys/class/marker; test -d /sys/kernel && echo kernel; touch /sys/class/x 2>/dev/null || echo read-only');
    expect(r.stdout).toBe('host\nkernel\nread-only\n');
    expect(r.code).toBe(0);
    expect(fs.readdirSync(hostDir)).toEqual(['marker']);
  });
});
