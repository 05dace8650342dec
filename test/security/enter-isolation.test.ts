/**
 * rkt's `enter` (nspawn flavour) ran the new process with every capability (CVE-2019-10144), no
 * seccomp filter (CVE-2019-10145) and outside the pod's cgroups (CVE-2019-10147); Red Hat never
 * fixed it (rkt#3998). `capsule enter` must put the entered process under exactly the app's
 * confinement (docs/stage1-contract.md, "enter"). Every test runs a real pod, reads what the app
 * itself is subject to from the host (/proc/<app pid>/…), enters it, and compares.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type RunResult } from '../helpers/cli.js';
import {
  appPids,
  childPids,
  makePodWorld,
  parseEnviron,
  parseProcStatus,
  podSkipReason,
  probeFacts,
  procStatus,
  startPod,
  stopAndCollect,
  waitFor,
  type PodWorld,
  type RunningPod,
} from '../helpers/pods.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping enter-isolation tests: ${skip}\n`);

/** rkt's default bounding set of 14 capabilities, as /proc/PID/status prints it. */
const DEFAULT_CAPBND = '00000000a80425fb';
const CAP_SYS_ADMIN = 1n << 21n;
/** The image's PATH (images/*\/manifest.in). */
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** What confines a process, as /proc/PID/status shows it. */
const CONFINEMENT = ['Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp'] as const;
const confinement = (s: Record<string, string>): Record<string, string | undefined> => Object.fromEntries(CONFINEMENT.map((k) => [k, s[k]]));
const mask = (hex: string | undefined): bigint => BigInt(`0x${hex ?? '0'}`);

/** /proc/PID/cgroup as hierarchy (controllers, `name=systemd`, or '' for v2) → path. */
function cgroupsOf(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out.set(m[1] ?? '', m[2] ?? '');
  }
  return out;
}

const nsOf = (pid: number, ns: string): string => fs.readlinkSync(`/proc/${pid}/ns/${ns}`);

describe.skipIf(skip !== null)('capsule enter: the entered process gets the app\'s isolation (rkt CVE-2019-10144, -10145, -10147)', () => {
  let w: PodWorld;
  const live: RunningPod[] = [];
  beforeAll(async () => {
    w = await makePodWorld('capsule-enter-');
  }, 120_000);
  // A failed test leaves its pod running: stop and collect it before the next one.
  afterEach(async () => {
    for (const p of live.splice(0)) await stopAndCollect(w, p);
  });
  afterAll(async () => {
    await w?.teardown();
  });

  const start = async (args: string[]): Promise<RunningPod> => {
    const p = await startPod(w, args);
    live.push(p);
    return p;
  };
  /** stop + gc --grace-period=0s, and nothing of the pod stays: cgroups, mounts, its directory. */
  const finish = async (p: RunningPod): Promise<void> => {
    live.splice(live.indexOf(p), 1);
    const end = await stopAndCollect(w, p);
    expect(end.stop.code).toBe(0);
    expect(end.runExit).toBe(143);
    expect(end.gc.stdout).toContain(`Garbage collecting pod "${p.uuid}"`);
    expect(end.left).toEqual([]);
    expect(end.onDisk).toBe(false);
  };
  const enter = (p: RunningPod, app: string, cmd: string[], env?: Record<string, string>): Promise<RunResult> =>
    w.run(['enter', '--app', app, p.uuid, ...cmd], env ? { env } : {});

  it('CVE-2019-10144: an entered process has the app\'s capabilities (retain set, default set, non-root user), never the full set', async () => {
    const host = procStatus(process.pid);
    expect(mask(host.CapBnd) & CAP_SYS_ADMIN).toBe(CAP_SYS_ADMIN); // the caller of enter holds the full set
    const pod = await start([
      w.probe, '--name=kill', '--exec=/probe', '--caps-retain=CAP_KILL', '--', 'sleep', '600', '---',
      w.probe, '--name=dflt', '--exec=/probe', '--', 'sleep', '600', '---',
      w.probe, '--name=user', '--exec=/probe', '--user=1000', '--', 'sleep', '600',
    ]);
    const pids = appPids(pod);
    expect(Object.keys(pids).sort()).toEqual(['dflt', 'kill', 'user']);
    const app = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, procStatus(pid)]));
    // What the apps themselves run with.
    expect(app.kill).toMatchObject({ Uid: '0 0 0 0', CapBnd: '0000000000000020', CapEff: '0000000000000020' });
    expect(app.dflt).toMatchObject({ Uid: '0 0 0 0', CapBnd: DEFAULT_CAPBND, CapEff: DEFAULT_CAPBND });
    expect(app.user).toMatchObject({ Uid: '1000 1000 1000 1000', CapBnd: DEFAULT_CAPBND, CapPrm: '0000000000000000', CapEff: '0000000000000000' });

    for (const name of ['kill', 'dflt', 'user']) {
      const e = await enter(pod, name, ['/bin/cat', '/proc/self/status']);
      expect(e.code).toBe(0);
      const entered = parseProcStatus(e.stdout);
      expect(confinement(entered), `entering ${name}`).toEqual(confinement(app[name] ?? {}));
      expect(entered.CapBnd).not.toBe(host.CapBnd);
      expect(mask(entered.CapEff) & CAP_SYS_ADMIN).toBe(0n);
      const f = await enter(pod, name, ['/probe', 'uid', 'capbnd', 'capeff']);
      expect(probeFacts(f.stdout)).toEqual({ uid: name === 'user' ? '1000' : '0', capbnd: app[name]?.CapBnd, capeff: app[name]?.CapEff });
    }

    // The capabilities are really gone: chown needs CAP_CHOWN, which only the default set has.
    const chown = (name: string): Promise<RunResult> => enter(pod, name, ['/bin/sh', '-c', 'touch /tmp/f && chown 1:1 /tmp/f && echo chowned']);
    const dflt = await chown('dflt');
    expect([dflt.code, dflt.stdout]).toEqual([0, 'chowned\n']);
    for (const name of ['kill', 'user']) {
      const r = await chown(name);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/chown: \/tmp\/f: Operation not permitted/);
    }
    await finish(pod);
  }, 90_000);

  it('CVE-2019-10145: an entered process runs under the app\'s seccomp filter and no_new_privs', async () => {
    const filter = '--seccomp=mode=remove,errno=EPERM,mkdir,mkdirat';
    const script = 'touch /tmp/y && echo touched; mkdir /tmp/x 2>&1; echo mkdir=$?';
    // The app's own behaviour under that filter, from a one-off run of the same app.
    const own = await w.run(['run', w.probe, filter, '--exec=/bin/sh', '--', '-c', script]);
    expect(own.code).toBe(0);
    expect(own.stdout).toBe("touched\nmkdir: can't create directory '/tmp/x': Operation not permitted\nmkdir=1\n");

    const pod = await start([
      w.probe, '--name=filtered', '--exec=/probe', filter, '--', 'sleep', '600', '---',
      w.probe, '--name=plain', '--exec=/probe', '--', 'sleep', '600',
    ]);
    const pids = appPids(pod);
    for (const name of ['filtered', 'plain']) {
      const app = procStatus(pids[name] ?? 0);
      expect(app.Seccomp).toBe('2');
      const e = await enter(pod, name, ['/bin/cat', '/proc/self/status']);
      expect(e.code).toBe(0);
      expect(confinement(parseProcStatus(e.stdout)), `entering ${name}`).toEqual(confinement(app));
      expect(probeFacts((await enter(pod, name, ['/probe', 'seccomp'])).stdout)).toEqual({ seccomp: '2' });
    }
    // Blocked inside enter exactly as in the app; the other app's filter does not block it.
    const blocked = await enter(pod, 'filtered', ['/bin/sh', '-c', script]);
    expect(blocked.code).toBe(0);
    expect(blocked.stdout).toBe(own.stdout);
    const allowed = await enter(pod, 'plain', ['/bin/sh', '-c', script]);
    expect(allowed.stdout).toBe('touched\nmkdir=0\n');
    // And on the host: the filtered app's root got /tmp/y but never /tmp/x.
    const filteredRoot = `/proc/${pids.filtered}/root`;
    expect(fs.existsSync(`${filteredRoot}/tmp/y`)).toBe(true);
    expect(fs.existsSync(`${filteredRoot}/tmp/x`)).toBe(false);
    expect(fs.statSync(`/proc/${pids.plain}/root/tmp/x`).isDirectory()).toBe(true);
    await finish(pod);

    // no_new_privs: asked for by the app (pod manifest isolator), so the entered process has it too.
    const manifest = path.join(w.base, 'nnp-pod.json');
    fs.writeFileSync(manifest, JSON.stringify({
      acKind: 'PodManifest',
      acVersion: '0.8.11',
      apps: [{
        name: 'nnp',
        image: { id: w.probe },
        app: {
          exec: ['/probe', 'sleep', '600'],
          user: '0',
          group: '0',
          environment: [{ name: 'PATH', value: IMAGE_PATH }],
          isolators: [{ name: 'os/linux/no-new-privileges', value: true }],
        },
      }],
    }));
    const nnp = await start([`--pod-manifest=${manifest}`]);
    const nnpApp = procStatus(appPids(nnp).nnp ?? 0);
    expect(nnpApp).toMatchObject({ NoNewPrivs: '1', Seccomp: '2' });
    expect(procStatus(process.pid).NoNewPrivs).toBe('0'); // the caller of enter does not have it
    const e = await enter(nnp, 'nnp', ['/bin/cat', '/proc/self/status']);
    expect(e.code).toBe(0);
    expect(confinement(parseProcStatus(e.stdout))).toEqual(confinement(nnpApp));
    expect(probeFacts((await enter(nnp, 'nnp', ['/probe', 'nonewprivs', 'seccomp'])).stdout)).toEqual({ nonewprivs: '1', seccomp: '2' });
    await finish(nnp);
  }, 90_000);

  it('CVE-2019-10147: an entered process is in the app\'s cgroups (memory limit, OOM), PID namespace, rootfs and environment', async () => {
    const pod = await start([
      '--set-env=POD_VAR=from-pod',
      w.probe, '--name=limited', '--memory=64Mi', '--environment=APP_VAR=limited', '--exec=/bin/sh', '--', '-c', 'echo made-by-app > /app-marker && exec /probe sleep 600', '---',
      w.probe, '--name=other', '--memory=256Mi', '--exec=/probe', '--', 'sleep', '600',
    ]);
    const pids = appPids(pod);
    const appPid = pids.limited ?? 0;
    expect(appPid).toBeGreaterThan(0);

    // -- cgroups, seen from the host: a long-lived entered process sits in the app's cgroups.
    const appCg = cgroupsOf(appPid);
    const memoryPath = appCg.get('memory') ?? '';
    expect(memoryPath).toMatch(new RegExp(`/capsule-${pod.uuid}/app-limited$`));
    expect(fs.readFileSync(`/sys/fs/cgroup/memory${memoryPath}/memory.limit_in_bytes`, 'utf8').trim()).toBe(String(64 * 1024 * 1024));
    const long = w.spawnRun(['enter', '--app', 'limited', pod.uuid, '/bin/sh', '-c', 'echo ready; exec sleep 600']);
    try {
      await waitFor('the entered command', () => long.out().includes('ready'));
      const [entered] = childPids(long.pid ?? 0);
      expect(entered).toBeGreaterThan(0);
      const enteredCg = cgroupsOf(entered ?? 0);
      // Every hierarchy, the tracking ones (name=systemd, v1's unified) included.
      for (const [hier, p] of appCg) expect(enteredCg.get(hier), `cgroup hierarchy ${hier || 'unified'}`).toBe(p);
      expect(cgroupsOf(process.pid).get('memory')).not.toBe(memoryPath); // the caller is elsewhere
      for (const ns of ['pid', 'net', 'ipc', 'uts']) expect(nsOf(entered ?? 0, ns), `${ns} namespace`).toBe(nsOf(appPid, ns));
      expect(nsOf(entered ?? 0, 'pid')).not.toBe(nsOf(process.pid, 'pid'));
      expect(nsOf(entered ?? 0, 'mnt')).not.toBe(nsOf(process.pid, 'mnt'));
    } finally {
      long.kill('SIGTERM');
      await long.exited;
    }

    // -- cgroups, seen from inside: the app's limit, and it is enforced on the entered process.
    expect((await enter(pod, 'limited', ['/bin/cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'])).stdout).toBe(`${64 * 1024 * 1024}\n`);
    expect((await enter(pod, 'other', ['/bin/cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'])).stdout).toBe(`${256 * 1024 * 1024}\n`);
    const oomKills = (): number => Number(/^oom_kill (\d+)$/m.exec(fs.readFileSync(`/sys/fs/cgroup/memory${memoryPath}/memory.oom_control`, 'utf8'))?.[1] ?? -1);
    const before = oomKills();
    const small = await enter(pod, 'limited', ['/bin/dd', 'if=/dev/zero', 'of=/dev/null', 'bs=16M', 'count=1']);
    expect(small.code).toBe(0);
    const big = await enter(pod, 'limited', ['/bin/dd', 'if=/dev/zero', 'of=/dev/null', 'bs=128M', 'count=1']);
    expect(big.code).toBe(137);
    expect(oomKills()).toBeGreaterThan(before); // killed by the app's cgroup's OOM killer
    const roomy = await enter(pod, 'other', ['/bin/dd', 'if=/dev/zero', 'of=/dev/null', 'bs=128M', 'count=1']);
    expect(roomy.code).toBe(0); // the other app's limit, not a pod-wide one
    expect(fs.existsSync(`/proc/${appPid}`)).toBe(true); // the app itself was not the victim

    // -- PID namespace: the pod's processes only.
    const appNsPid = (pid: number): string => procStatus(pid).NSpid?.split(' ').at(-1) ?? '?';
    const ps = await enter(pod, 'limited', ['/bin/sh', '-c', 'ls /proc; echo ---; ps -o pid,args']);
    expect(ps.code).toBe(0);
    const [procList = '', psOut = ''] = ps.stdout.split('---\n');
    const visible = procList.split('\n').filter((l) => /^\d+$/.test(l));
    expect(visible).toEqual(expect.arrayContaining(['1', appNsPid(appPid), appNsPid(pids.other ?? 0)]));
    expect(visible.length).toBeLessThan(10);
    expect(fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length).toBeGreaterThan(visible.length);
    expect(psOut).toMatch(/^\s*1 \/capsule\/init init$/m);
    expect(psOut).toMatch(/^\s*\d+ sleep 600$/m);
    expect(psOut).not.toMatch(/systemd-nspawn|capsule-stage1|node|vitest/);

    // -- rootfs: the app's, with what the app wrote; nothing of the host's or of stage1's.
    const hostPaths = [ROOT, w.base, '/usr/bin/systemd-nspawn', '/capsule'];
    const fsCheck = await enter(pod, 'limited', ['/bin/sh', '-c', `cat /app-marker; echo from-enter > /enter-marker; for p in ${hostPaths.join(' ')}; do test -e "$p" && echo "visible: $p"; done; echo ---; ls -a /`]);
    expect(fsCheck.code).toBe(0);
    const [fsOut = '', lsOut = ''] = fsCheck.stdout.split('---\n');
    expect(fsOut).toBe('made-by-app\n');
    const rootEntries = lsOut.split('\n').filter((l) => l !== '' && l !== '.' && l !== '..').sort();
    expect(rootEntries).toEqual(fs.readdirSync(`/proc/${appPid}/root`).sort());
    expect(fs.readFileSync(`/proc/${appPid}/root/enter-marker`, 'utf8')).toBe('from-enter\n');
    const other = await enter(pod, 'other', ['/bin/cat', '/app-marker']);
    expect(other.code).toBe(1); // another app's rootfs does not have it

    // -- environment: the app's, plus the caller's TERM and nothing else of the caller's.
    const e = await enter(pod, 'limited', ['/bin/cat', '/proc/self/environ'], { TERM: 'capsule-test-term', CAPSULE_TEST_CALLER_ONLY: 'must-not-leak' });
    expect(e.code).toBe(0);
    const env = parseEnviron(e.stdout);
    expect(env).toMatchObject({ AC_APP_NAME: 'limited', PATH: IMAGE_PATH, POD_VAR: 'from-pod', APP_VAR: 'limited', TERM: 'capsule-test-term' });
    expect(env).not.toHaveProperty('CAPSULE_TEST_CALLER_ONLY');
    // The app's own environment (its shell added SHLVL and PWD before it exec'd sleep).
    const appEnv = parseEnviron(fs.readFileSync(`/proc/${appPid}/environ`, 'utf8'));
    delete appEnv.SHLVL;
    delete appEnv.PWD;
    expect(env).toEqual({ ...appEnv, TERM: 'capsule-test-term' });

    expect(fs.existsSync(`/proc/${appPid}`)).toBe(true);
    await finish(pod);
  }, 90_000);
});
