// A pod started from the sample unit of docs/systemd.md by a real systemd: a throwaway container
// booted with `systemd-nspawn -b` from a tree that shares the host's /usr (the host itself has no
// systemd as PID 1). On a cgroup v1 host the container's controller hierarchies are read-only
// above the unit, as they are for a unit on a host whose manager owns them: the pod must still
// start (memory and cpu cgroups only when an isolator asks), and a limit it cannot place must be
// refused with a line naming the hierarchy and Delegate=. Stopping leaves no nspawn notice.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPSULE, ROOT, runCapsule } from '../helpers/cli.js';
import { sampleImage } from '../helpers/images.js';
import { podSkipReason } from '../helpers/pods.js';
import { makeScratchCgroup, type ScratchCgroup } from '../helpers/scratch-cgroup.js';

const SYSTEMD = '/usr/lib/systemd/systemd';

function skipReason(): string | null {
  const pods = podSkipReason();
  if (pods) return pods;
  if (!fs.existsSync(SYSTEMD)) return `no ${SYSTEMD} to boot (apt-get install systemd)`;
  if (!fs.existsSync('/usr/bin/unshare')) return 'no unshare (util-linux)';
  return null;
}
const skip = skipReason();
/** The read-only-hierarchy case is cgroup v1's (v2 containers get a delegated subtree). */
const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
if (!skip && v2) process.stderr.write('systemd unit tests: the host has cgroup v2; the cgroup v1 checks are skipped\n');
if (skip) process.stderr.write(`skipping systemd unit tests: ${skip}\n`);

/** The `web.service` block of docs/systemd.md, with the checkout's capsule and a free port. */
function sampleUnit(port: number): string {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/systemd.md'), 'utf8');
  const block = /```ini\n# \/etc\/systemd\/system\/web\.service\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/systemd.md has no web.service sample');
  return block.replace(/\/usr\/bin\/capsule /g, `${CAPSULE} `).replace('-p 8080', `-p 127.0.0.1:${port}`);
}

const DRIVER = `#!/bin/sh
# Runs once the container has booted; results go to /result, then the container powers off.
exec > /result/driver.log 2>&1
systemctl start web.service; echo "start=$?"
echo "active=$(systemctl is-active web.service)"
for d in /sys/fs/cgroup/systemd/system.slice/web.service/capsule-* /sys/fs/cgroup/system.slice/web.service/capsule-*; do [ -d "$d" ] && echo "pod-cgroup=under-unit"; done
systemctl stop web.service; echo "stop=$?"
journalctl -u web.service -o cat --no-pager > /result/web.journal
systemctl start mem.service; echo "start-mem=$?"
journalctl -u mem.service -o cat --no-pager > /result/mem.journal
systemctl poweroff
`;

describe.skipIf(skip !== null)('capsule run from a systemd unit (booted systemd container)', () => {
  let base: string;
  let result: string;
  let bootLog = '';
  let exitCode: number | null = null;
  let cgroup: ScratchCgroup | undefined;
  const machine = `capsule-pr-${crypto.randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-pr-systemd-'));
    const root = path.join(base, 'root');
    result = path.join(base, 'result');
    fs.mkdirSync(result);
    for (const d of ['usr', 'etc/systemd/system/multi-user.target.wants', 'var/lib', 'tmp', 'run', 'root', 'proc', 'sys', 'dev', 'result']) fs.mkdirSync(path.join(root, d), { recursive: true });
    for (const d of ['bin', 'sbin', 'lib', 'lib64']) if (fs.existsSync(path.join('/usr', d))) fs.symlinkSync(`usr/${d}`, path.join(root, d));
    fs.copyFileSync('/etc/os-release', path.join(root, 'etc/os-release'));
    fs.writeFileSync(path.join(root, 'etc/machine-id'), `${crypto.randomBytes(16).toString('hex')}\n`);
    fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\n');
    const units = path.join(root, 'etc/systemd/system');
    const port = 20000 + crypto.randomInt(40000);
    const web = sampleUnit(port);
    fs.writeFileSync(path.join(units, 'web.service'), web);
    // The same unit with a memory limit: the container's memory hierarchy is read-only.
    fs.writeFileSync(path.join(units, 'mem.service'), web.replace(' --exec ', ' --memory=64M --exec '));
    fs.writeFileSync(path.join(root, 'driver.sh'), DRIVER, { mode: 0o755 });
    fs.writeFileSync(path.join(units, 'capsule-pr-driver.service'), '[Unit]\nAfter=multi-user.target\n[Service]\nType=oneshot\nExecStart=/driver.sh\n[Install]\nWantedBy=multi-user.target\n');
    fs.symlinkSync('../capsule-pr-driver.service', path.join(units, 'multi-user.target.wants/capsule-pr-driver.service'));
    // The sample image, in the container's default store, under the name the unit runs.
    const f = await runCapsule([`--dir=${path.join(root, 'var/lib/capsule')}`, '--insecure-options=image', 'fetch', sampleImage('busybox')]);
    if (f.code !== 0) throw new Error(`fetch: ${f.stderr}`);

    // nspawn needs a tmpfs at /run/systemd/nspawn; the host's /run is not one: a private mount namespace.
    // It starts in a cgroup of the test's own: its payload/ and supervisor/ cgroups go there, not at the host's root.
    cgroup = makeScratchCgroup(`capsule-md4-unit-${crypto.randomBytes(4).toString('hex')}`);
    const script = `${cgroup.joinShell} && mkdir -p /run/systemd/nspawn && mount -t tmpfs tmpfs /run/systemd/nspawn && exec /usr/bin/systemd-nspawn -q -D '${root}' --bind-ro=/usr --bind-ro='${ROOT}' --bind='${result}':/result --machine=${machine} --register=no --keep-unit -b`;
    const child = spawn('/usr/bin/unshare', ['-m', '--propagation', 'slave', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => (bootLog += d.toString()));
    child.stderr.on('data', (d: Buffer) => (bootLog += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    exitCode = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    clearTimeout(timer);
  }, 180_000);

  afterAll(async () => {
    await cgroup?.remove();
    if (cgroup) expect(cgroup.dirs.filter((d) => fs.existsSync(d))).toEqual([]);
    if (base && !process.env.CAPSULE_PR_KEEP) fs.rmSync(base, { recursive: true, force: true });
  });

  const read = (f: string): string => (fs.existsSync(path.join(result, f)) ? fs.readFileSync(path.join(result, f), 'utf8') : '');

  it('the container booted, ran the checks and powered off', () => {
    expect(read('driver.log'), bootLog.slice(-3000)).toMatch(/^start=/m);
    expect(exitCode).toBe(0);
  });

  it('the sample unit starts the pod (READY through Type=notify) and stops it', () => {
    const log = read('driver.log');
    expect(log, read('web.journal')).toMatch(/^start=0$/m);
    expect(log).toMatch(/^active=active$/m);
    expect(log).toMatch(/^stop=0$/m);
  });

  it.skipIf(v2)('v1: the pod cgroups are under the unit (name=systemd), and no memory or cpu cgroups were needed', () => {
    expect(read('driver.log')).toMatch(/^pod-cgroup=under-unit$/m);
  });

  it("a normal stop leaves nspawn's notices out of the journal", () => {
    const journal = read('web.journal');
    expect(journal).toMatch(/Started web\.service/);
    expect(journal).toMatch(/Stopped web\.service/);
    expect(journal).not.toMatch(/Trying to halt container|Container capsule-.* (exited|terminated)/);
  });

  it.skipIf(v2)('v1: a memory limit where the unit has no memory cgroup of its own fails with the hierarchy and Delegate= named', () => {
    expect(read('driver.log')).toMatch(/^start-mem=1$/m);
    expect(read('mem.journal')).toMatch(/^run: an app's memory limit \(--memory, resource\/memory\) needs a cgroup in the memory hierarchy \/sys\/fs\/cgroup\/memory, .*Delegate=yes/m);
  });
});
