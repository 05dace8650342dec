/**
 * An app opens a host device it was never given (issue 12 §1): with CAP_MKNOD (granted with
 * --caps-retain, as a user would) it makes /dev/loop-control (10:237) or /dev/kmsg (1:11) itself,
 * or it finds such nodes in a host volume (an image cannot bring one: ACI extraction refuses
 * device nodes, OCI layers skip them). Every pod gets a device allow-list (null, zero, full,
 * random, urandom, tty, console, ptmx, pts), so these cannot be made or opened, from the app nor
 * from `enter`, while the standard nodes still work. The victim is the host's kernel log: a
 * marker the app writes to a kmsg node must never reach it. --insecure-options=paths lifts the
 * list (documented in docs/security.md).
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makePodWorld, podSkipReason, startPod, stopAndCollect, type PodWorld, type RunningPod } from '../helpers/pods.js';

const v1Devices = fs.existsSync('/sys/fs/cgroup/devices/devices.list') && !fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
const skip = podSkipReason() ?? (v1Devices ? null : 'the device allow-list is enforced through the cgroup v1 devices controller, which this host does not have (cgroup v2: not yet, see docs/security.md)');
if (skip) process.stderr.write(`skipping device allow-list tests: ${skip}\n`);

const kernelLog = (): string => execFileSync('dmesg', { encoding: 'utf8' });

describe.skipIf(skip !== null)('an app opens a host device node it was not given', () => {
  let w: PodWorld;
  let devs: string;
  const marker = `capsule-hd4-kmsg-${crypto.randomBytes(6).toString('hex')}`;
  const live: RunningPod[] = [];

  beforeAll(async () => {
    w = await makePodWorld('capsule-sec-devices-');
    // Device nodes on the host, in the test's own directory, handed to pods as a volume.
    devs = path.join(w.base, 'devs');
    fs.mkdirSync(devs);
    execFileSync('mknod', [path.join(devs, 'loop-control'), 'c', '10', '237']);
    execFileSync('mknod', [path.join(devs, 'kmsg'), 'c', '1', '11']);
    execFileSync('mknod', [path.join(devs, 'null'), 'c', '1', '3']);
  }, 120_000);
  afterEach(async () => {
    for (const p of live.splice(0)) await stopAndCollect(w, p);
  });
  afterAll(async () => {
    await w?.teardown();
    expect(kernelLog()).not.toContain(marker);
  });

  const vol = (): string[] => [`--volume=devs,kind=host,source=${devs}`, '--mount=volume=devs,target=/devs'];
  /** One line per device: `NAME opened` or the shell's error (`… Operation not permitted`). */
  const tryOpen = (paths: string[]): string => paths.map((p) => `(exec 3<${p}) 2>&1 && echo "${p} opened"`).join('; ');
  const standard = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/ptmx'];

  it('with CAP_MKNOD: mknod /dev/loop-control and /dev/kmsg fail, the standard nodes work', async () => {
    const script = [
      'mknod /tmp/loop-control c 10 237 2>&1 || echo mknod-refused',
      'mknod /tmp/kmsg c 1 11 2>&1 || echo mknod-refused',
      tryOpen(['/tmp/loop-control']),
      `(echo ${marker} >/tmp/kmsg) 2>&1`,
      tryOpen(standard.filter((d) => d !== '/dev/tty')),
      'head -c 16 /dev/urandom | wc -c',
      'mknod /tmp/null c 1 3 && echo made-null',
    ].join('; ');
    const r = await w.run(['run', w.busybox, '--caps-retain=CAP_MKNOD,CAP_DAC_OVERRIDE', '--exec=/bin/sh', '--', '-c', script]);
    expect(r.stderr).not.toMatch(/warning: no device allow-list/);
    expect(r.stdout.match(/mknod: \/tmp\/(loop-control|kmsg): Operation not permitted/g)).toHaveLength(2);
    expect(r.stdout.match(/^mknod-refused$/gm)).toHaveLength(2);
    expect(r.stdout).not.toMatch(/loop-control opened/);
    for (const d of standard.filter((x) => x !== '/dev/tty')) expect(r.stdout).toContain(`${d} opened`);
    expect(r.stdout).toMatch(/^16$/m);
    expect(r.stdout).toMatch(/^made-null$/m);
    expect(kernelLog()).not.toContain(marker);
  });

  it('device nodes in a host volume: opening them fails with EPERM, /devs/null (1:3) opens', async () => {
    const r = await w.run(['run', ...vol(), w.busybox, '--exec=/bin/sh', '--', '-c', `${tryOpen(['/devs/loop-control', '/devs/null'])}; (echo ${marker} >/devs/kmsg) 2>&1`]);
    expect(r.stdout).toMatch(/can't open \/devs\/loop-control: Operation not permitted/);
    expect(r.stdout).toMatch(/can't create \/devs\/kmsg: Operation not permitted/);
    expect(r.stdout).toContain('/devs/null opened');
    expect(r.stdout).not.toContain('/devs/loop-control opened');
    expect(kernelLog()).not.toContain(marker);
  });

  it('enter: the entered process is under the same list (and so is the pod init)', async () => {
    const pod = await startPod(w, [...vol(), w.busybox, '--caps-retain=CAP_MKNOD', '--exec=/bin/sleep', '--', '600']);
    live.push(pod);
    const e = await w.run(['enter', pod.uuid, '/bin/sh', '-c', `${tryOpen(['/devs/loop-control', '/dev/null'])}; mknod /tmp/lc c 10 237 2>&1; (echo ${marker} >/devs/kmsg) 2>&1`]);
    expect(e.stdout).toMatch(/can't open \/devs\/loop-control: Operation not permitted/);
    expect(e.stdout).toMatch(/mknod: \/tmp\/lc: Operation not permitted/);
    expect(e.stdout).toContain('/dev/null opened');
    // The pod's init (host view) sits in a devices cgroup of the pod's own, which allows exactly the list.
    const cg = /^\d+:devices:(.*)$/m.exec(fs.readFileSync(`/proc/${pod.initPid}/cgroup`, 'utf8'))?.[1] ?? '';
    expect(path.basename(cg)).toBe(`capsule-${pod.uuid}`);
    const list = fs.readFileSync(path.join('/sys/fs/cgroup/devices', cg, 'devices.list'), 'utf8').trim().split('\n').sort();
    expect(list).toEqual(['c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 136:* rwm', 'c 5:0 rwm', 'c 5:1 rwm', 'c 5:2 rwm'].sort());
    expect(kernelLog()).not.toContain(marker);
  });

  it('--insecure-options=paths lifts the list: the volume\'s loop-control opens and mknod works', async () => {
    const r = await w.run(['--insecure-options=paths', 'run', ...vol(), w.busybox, '--caps-retain=CAP_MKNOD', '--exec=/bin/sh', '--', '-c', `${tryOpen(['/devs/loop-control'])}; mknod /tmp/lc c 10 237 && ${tryOpen(['/tmp/lc'])}`]);
    expect(r.stdout).toContain('/devs/loop-control opened');
    expect(r.stdout).toContain('/tmp/lc opened');
  });
});
