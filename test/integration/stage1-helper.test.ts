/**
 * The stage1 helper (dist/libexec/capsule-stage1) for real: `run` starts systemd-nspawn with the
 * helper's `init` as PID 1, `enter` joins a running pod, `fly` becomes the app. Apps are small
 * busybox trees; what they print about themselves (/proc/self/status, id, cwd, env, cgroup files)
 * is what is asserted. Everything a test creates is private (mount namespaces) or removed at the end.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePlan } from '../../src/stage1/common/plan-file.js';
import { removeCgroupTrees } from '../../src/stage1/common/cgroup-host.js';

type Plan = Array<[string, string]>;

const ROOT = path.resolve(import.meta.dirname, '../..');
const HELPER = path.join(ROOT, 'dist/libexec/capsule-stage1');
const HELPER_SRC = path.join(ROOT, 'src/stage1/helper');
const BUSYBOX = '/bin/busybox';
const NSPAWN = '/usr/bin/systemd-nspawn';
const UNISTD = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
const TOOLS = ['sh', 'cat', 'id', 'sleep', 'echo', 'ls', 'touch', 'pwd', 'env', 'grep', 'mkdir', 'uname', 'true', 'false', 'wc', 'tr', 'test', 'sed'];

function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!fs.existsSync(NSPAWN)) return 'needs systemd-nspawn';
  if (!fs.existsSync(BUSYBOX)) return 'needs busybox-static';
  return null;
}
const skip = skipReason();

/** The caller's memory cgroup (v1), or null on a host without a v1 memory hierarchy. */
function memoryCgroupBase(): string | null {
  if (!fs.existsSync('/sys/fs/cgroup/memory/cgroup.procs')) return null;
  const line = fs
    .readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  if (!line) return null;
  return path.join('/sys/fs/cgroup/memory', line.slice(line.lastIndexOf(':') + 1));
}
const MEMCG = skip === null ? memoryCgroupBase() : null;
const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;

const id = (): string => randomBytes(4).toString('hex');
const MB64 = String(64 * 1024 * 1024);

let work = '';
const cgroupsMade: string[] = [];
const spawned: ChildProcess[] = [];
const ppidFiles: string[] = [];

/** A busybox tree: /bin/busybox and its applets, plus the usual empty directories. */
function busyboxTree(dir: string): void {
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(dir, 'bin/busybox'));
  for (const t of TOOLS) fs.symlinkSync('busybox', path.join(dir, 'bin', t));
  for (const d of ['tmp', 'work', 'etc']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runHelper(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Result> & { child: ChildProcess } {
  const child = spawn(HELPER, args, { cwd: o.cwd ?? work, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
  const p = new Promise<Result>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return Object.assign(p, { child });
}

/** `key=value` lines → record. */
function facts(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** A shell script printing what an app sees of its isolation as key=value lines. */
const PROBE = [
  'echo "uid=$(id -u)"',
  'echo "gid=$(id -g)"',
  'echo "groups=$(id -G)"',
  'echo "cwd=$(pwd)"',
  'echo "foo=$FOO"',
  'echo "term=$TERM"',
  "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|Seccomp|NoNewPrivs):' /proc/self/status | sed 's/:[[:space:]]*/=/'",
  'echo "mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null)"',
  'echo "oom=$(cat /proc/self/oom_score_adj)"',
  'if touch /probe-write 2>/dev/null; then echo rootfs=rw; else echo rootfs=ro; fi',
  'echo "cpuinfo=$(wc -c < /proc/cpuinfo)"',
  'echo "syskernel=$(ls -A /sys/kernel | wc -l)"',
  'if (echo 1 > /proc/sys/kernel/ns_last_pid) 2>/dev/null; then echo procsys=rw; else echo procsys=ro; fi',
  'echo "pid1=$(tr "\\0" " " < /proc/1/cmdline)"',
].join('\n');

interface AppSpec {
  name: string;
  args: string[];
  env?: string[];
  uid?: number;
  gid?: number;
  groups?: number[];
  cwd?: string;
  capbnd?: string;
  nnp?: boolean;
  seccomp?: { mode: 'retain' | 'remove'; errno: number; syscalls: string[] };
  oom?: number;
  memory?: string;
  masks?: string[];
  ros?: string[];
  readonly?: boolean;
  notify?: boolean;
  tty?: boolean;
}

interface Pod {
  dir: string;
  root: string;
  podPlan: string;
  hostPlan: string;
  status: (app: string) => string | null;
  started: (app: string) => boolean;
  log: (app: string) => string;
  ppid: () => number;
}

/** App section as the TypeScript stage1 would plan it; ROOT is the app's root as init sees it. */
function appSection(a: AppSpec, root: string, files: { log?: string; status?: string; started?: string }, cgroups: string[]): Plan {
  const e: Plan = [['app', a.name], ['app-root', root]];
  for (const arg of a.args) e.push(['app-arg', arg]);
  for (const kv of a.env ?? ['PATH=/bin']) e.push(['app-env', kv]);
  e.push(['app-uid', String(a.uid ?? 0)], ['app-gid', String(a.gid ?? 0)]);
  for (const g of a.groups ?? []) e.push(['app-group', String(g)]);
  e.push(['app-cwd', a.cwd ?? '/'], ['app-capbnd', a.capbnd ?? 'all'], ['app-nnp', a.nnp ? '1' : '0']);
  if (a.seccomp) {
    e.push(['app-seccomp', a.seccomp.mode], ['app-seccomp-errno', String(a.seccomp.errno)]);
    for (const s of a.seccomp.syscalls) e.push(['app-syscall', s]);
  } else e.push(['app-seccomp', 'none']);
  if (a.oom !== undefined) e.push(['app-oom', String(a.oom)]);
  for (const c of cgroups) e.push(['app-cgroup', c]);
  if (cgroups.length > 0) e.push(['app-cgroupfs', 'v1'], ['app-cgroup-ctrl', 'memory']);
  else e.push(['app-cgroupfs', 'none']);
  for (const m of a.masks ?? []) e.push(['app-mask', m]);
  for (const r of a.ros ?? []) e.push(['app-ro', r]);
  e.push(['app-readonly', a.readonly ? '1' : '0']);
  if (files.log) e.push(['app-log', files.log]);
  if (files.status) e.push(['app-status', files.status]);
  if (files.started) e.push(['app-started', files.started]);
  e.push(['app-notify', a.notify ? '1' : '0'], ['app-tty', a.tty ? '1' : '0']);
  return e;
}

/** A pod directory with a container root for nspawn, both plans and (on v1 hosts) a memory cgroup. */
function makePod(apps: AppSpec[], o: { stopTimeout?: number } = {}): Pod {
  const name = `capsule-test-${id()}`;
  const dir = path.join(work, name);
  const root = path.join(dir, 'stage1/rootfs');
  for (const d of ['usr', 'capsule/pod/status', 'capsule/pod/logs']) fs.mkdirSync(path.join(root, d), { recursive: true });
  for (const d of ['status', 'logs']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  for (const a of apps) busyboxTree(path.join(root, 'opt/stage2', a.name, 'rootfs'));

  const hostPlan: Plan = [['host-tmpfs', '/run/systemd/nspawn']];
  const binds = [`--bind-ro=${HELPER}:/capsule/init`, `--bind-ro=${path.join(dir, 'stage1/pod-plan')}:/capsule/plan`, `--bind=${path.join(dir, 'status')}:/capsule/pod/status`, `--bind=${path.join(dir, 'logs')}:/capsule/pod/logs`];
  const useMem = MEMCG !== null && apps.some((a) => a.memory !== undefined);
  if (useMem && MEMCG) {
    const cg = path.join(MEMCG, name);
    cgroupsMade.push(cg);
    hostPlan.push(['cgroup-mkdir', cg]);
    for (const a of apps) hostPlan.push(['cgroup-mkdir', path.join(cg, `app-${a.name}`)]);
    for (const a of apps) if (a.memory) hostPlan.push(['cgroup-write', path.join(cg, `app-${a.name}`, 'memory.limit_in_bytes')], ['cgroup-value', a.memory]);
    hostPlan.push(['cgroup-join', cg]);
    binds.push(`--bind=${cg}:/capsule/cgroup/memory`);
  }
  // Like Capsule's own plans: nspawn makes payload/ and supervisor/ cgroups where it starts, so it
  // starts in cgroups of the pod's own (removed at cleanup), never in the test's.
  for (const h of ['systemd', 'unified']) {
    if (!fs.existsSync(path.join('/sys/fs/cgroup', h, 'cgroup.procs'))) continue;
    const cg = path.join('/sys/fs/cgroup', h, name);
    cgroupsMade.push(cg);
    hostPlan.push(['cgroup-mkdir', cg], ['cgroup-join', cg]);
  }
  hostPlan.push(['ppid-file', 'ppid']);
  ppidFiles.push(path.join(dir, 'ppid'));
  const nspawn = [NSPAWN, '--quiet', '--register=no', '--keep-unit', `--machine=${name}`, `--directory=${root}`, '--resolv-conf=off', '--timezone=off', '--link-journal=no', '--kill-signal=SIGTERM', '--console=pipe', '--private-network', ...binds, '/capsule/init', 'init'];
  for (const a of nspawn) hostPlan.push(['exec-arg', a]);
  // nspawn's own cgroup namespace (SYSTEMD_NSPAWN_USE_CGNS=0 fails on v1 hosts with unmounted controllers).
  hostPlan.push(['exec-env', 'SYSTEMD_NSPAWN_USE_CGNS=1']);

  const podPlan: Plan = [['stop-timeout', String(o.stopTimeout ?? 10)], ['notify', '0']];
  for (const a of apps) {
    const files = { log: `/capsule/pod/logs/${a.name}.log`, status: `/capsule/pod/status/${a.name}`, started: `/capsule/pod/status/${a.name}.started` };
    podPlan.push(...appSection(a, `/opt/stage2/${a.name}/rootfs`, files, useMem ? [`/capsule/cgroup/memory/app-${a.name}`] : []));
  }
  fs.writeFileSync(path.join(dir, 'stage1/pod-plan'), encodePlan(podPlan));
  fs.writeFileSync(path.join(dir, 'stage1/plan'), encodePlan(hostPlan));
  const read = (p: string): string | null => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      return null;
    }
  };
  return {
    dir,
    root,
    podPlan: path.join(dir, 'stage1/pod-plan'),
    hostPlan: path.join(dir, 'stage1/plan'),
    status: (app) => read(path.join(dir, 'status', app)),
    started: (app) => fs.existsSync(path.join(dir, 'status', `${app}.started`)),
    log: (app) => read(path.join(dir, 'logs', `${app}.log`)) ?? '',
    ppid: () => Number(read(path.join(dir, 'ppid')) ?? 'NaN'),
  };
}

const runPod = (pod: Pod, timeoutMs?: number): ReturnType<typeof runHelper> => runHelper(['run', pod.hostPlan], { cwd: pod.dir, timeoutMs });

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** PID of the pod's init: the only child of systemd-nspawn. */
function initPid(nspawnPid: number): number {
  const children = fs.readFileSync(`/proc/${nspawnPid}/task/${nspawnPid}/children`, 'utf8').trim().split(/\s+/);
  return Number(children[0]);
}

/** Exited (a zombie not yet reaped by the host's init counts as exited). */
const exited = (pid: number): boolean => {
  try {
    return /^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(() => {
  if (skip !== null) return;
  // A fresh helper: rebuild dist/ when a helper source is newer than the binary.
  const newest = Math.max(...fs.readdirSync(HELPER_SRC).map((f) => fs.statSync(path.join(HELPER_SRC, f)).mtimeMs));
  const built = fs.existsSync(HELPER) ? fs.statSync(HELPER).mtimeMs : 0;
  if (built < newest) execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { stdio: 'inherit', cwd: ROOT });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-stage1-'));
});

afterAll(async () => {
  // Only after a failed test is anything still running: the helper, nspawn, the init and its apps.
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const f of ppidFiles) {
    let pid = NaN;
    try {
      pid = Number(fs.readFileSync(f, 'utf8'));
    } catch {
      /* never started */
    }
    if (!(pid > 0 && alive(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(NSPAWN))) continue;
    const init = initPid(pid);
    if (init > 0) process.kill(init, 'SIGKILL');
    process.kill(pid, 'SIGKILL');
  }
  await removeCgroupTrees(cgroupsMade);
  if (work) fs.rmSync(work, { recursive: true, force: true });
  const leftover = cgroupsMade.filter((c) => fs.existsSync(c));
  expect(leftover).toEqual([]);
  if (work) expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(work);
});

describe.skipIf(skip !== null)('capsule-stage1 run + init (systemd-nspawn)', () => {
  it('applies ids, cwd, env, bounding set, seccomp, no_new_privs, oom, memory limit, masks and a read-only root', async () => {
    const probe: AppSpec = {
      name: 'probe',
      args: ['/bin/sh', '-c', `${PROBE}\necho to-stderr >&2`],
      env: ['PATH=/bin', 'FOO=bar'],
      uid: 1000,
      gid: 1000,
      groups: [10, 20],
      cwd: '/work',
      capbnd: (BigInt(1) << BigInt(5) | BigInt(1) << BigInt(10)).toString(16), // CAP_KILL, CAP_NET_BIND_SERVICE
      nnp: false,
      seccomp: { mode: 'remove', errno: 1, syscalls: ['reboot', 'kexec_load', 'no_such_syscall_anywhere'] },
      oom: 500,
      memory: MB64,
      // A file (bound over by /dev/null), a directory (an empty tmpfs), and paths that may be missing.
      masks: ['proc/cpuinfo', 'sys/kernel', 'proc/kcore', 'no/such/path'],
      ros: ['proc/sys', 'no/such/path'],
      readonly: true,
    };
    // argv[0] without '/': looked up in the app's PATH inside its root; env is exactly the plan's.
    const envApp: AppSpec = { name: 'envapp', args: ['env'], env: ['PATH=/bin', 'ONLY=this', 'EMPTY='] };
    const pod = makePod([probe, envApp]);
    const r = await runPod(pod);
    expect(r.stderr).not.toMatch(/propagate|capsule-stage1/);
    expect(r.code).toBe(0);

    const f = facts(pod.log('probe'));
    expect(f).toMatchObject({ uid: '1000', gid: '1000', groups: '1000 10 20', cwd: '/work', foo: 'bar', term: '' });
    expect(f).toMatchObject({ CapBnd: '0000000000000420', CapEff: '0000000000000000', CapPrm: '0000000000000000', CapInh: '0000000000000000', CapAmb: '0000000000000000' });
    expect(f).toMatchObject({ Seccomp: '2', NoNewPrivs: '0', oom: '500', rootfs: 'ro', cpuinfo: '0', syskernel: '0', procsys: 'ro' });
    expect(f.pid1).toBe('/capsule/init init ');
    if (MEMCG) expect(f.mem).toBe(MB64);
    // stdout and stderr both reach the log and the pod's own stdout/stderr.
    expect(pod.log('probe')).toContain('to-stderr\n');
    expect(r.stdout).toContain('uid=1000\n');
    expect(r.stderr).toContain('to-stderr');

    expect(pod.log('envapp').split('\n').filter(Boolean).sort()).toEqual(['EMPTY=', 'ONLY=this', 'PATH=/bin']);
    expect(pod.status('probe')).toBe('0\n');
    expect(pod.status('envapp')).toBe('0\n');
    expect(pod.started('probe')).toBe(true);
    expect(pod.started('envapp')).toBe(true);
    expect(fs.readFileSync(path.join(pod.dir, 'ppid'), 'utf8')).toMatch(/^\d+\n$/);
    expect(fs.readdirSync(path.join(pod.dir, 'status')).sort()).toEqual(['envapp', 'envapp.started', 'probe', 'probe.started']);
  });

  it.skipIf(!fs.existsSync(UNISTD))('seccomp retain: only listed syscalls, the rest fail with the errno; root keeps its bounding set; no_new_privs', async () => {
    const all = [...fs.readFileSync(UNISTD, 'utf8').matchAll(/#define __NR_(\w+)/g)].map((m) => m[1] ?? '');
    const allowed = all.filter((s) => s !== 'mkdir' && s !== 'mkdirat');
    const app: AppSpec = {
      name: 'retain',
      args: ['/bin/sh', '-c', 'mkdir /tmp/d 2>&1; echo "mkdir=$?"; grep -E "^(CapBnd|Seccomp|NoNewPrivs):" /proc/self/status | sed "s/:[[:space:]]*/=/"; echo "uid=$(id -u)"'],
      nnp: true,
      // socketcall/ipc exist on i386 only; an unknown name is skipped.
      seccomp: { mode: 'retain', errno: 13, syscalls: [...allowed, 'socketcall', 'ipc', 'not_a_syscall'] },
    };
    const pod = makePod([app]);
    const r = await runPod(pod);
    expect(r.code).toBe(0);
    const log = pod.log('retain');
    expect(log).toContain('Permission denied');
    const f = facts(log);
    expect(f).toMatchObject({ mkdir: '1', Seccomp: '2', NoNewPrivs: '1', uid: '0' });
    // nspawn's own bounding set, untouched by app-capbnd all.
    expect(f.CapBnd).toMatch(/^[0-9a-f]{16}$/);
    expect(f.CapBnd).not.toBe('0000000000000000');
  });

  it('seccomp errno 0 kills the app with SIGSYS: code 159 for the app and the pod', async () => {
    const pod = makePod([{ name: 'sys', args: ['/bin/uname'], seccomp: { mode: 'remove', errno: 0, syscalls: ['uname'] } }]);
    const r = await runPod(pod);
    expect(r.code).toBe(128 + 31);
    expect(pod.status('sys')).toBe('159\n');
    expect(pod.started('sys')).toBe(true);
  });

  it('a failing app stops the others: SIGTERM, SIGKILL after stop-timeout; the pod exits with its code', async () => {
    const pod = makePod(
      [
        { name: 'fail', args: ['/bin/sh', '-c', 'sleep 0.5; echo failing; exit 3'] },
        { name: 'term', args: ['/bin/sleep', '100'] },
        // Notes SIGTERM and carries on: only SIGKILL ends it.
        { name: 'stubborn', args: ['/bin/sh', '-c', 'trap "echo got-term" TERM; while :; do sleep 0.1; done'] },
      ],
      { stopTimeout: 1 },
    );
    const r = await runPod(pod);
    expect(r.code).toBe(3);
    expect(pod.status('fail')).toBe('3\n');
    expect(pod.status('term')).toBe('143\n');
    expect(pod.status('stubborn')).toBe('137\n');
    for (const a of ['fail', 'term', 'stubborn']) expect(pod.started(a)).toBe(true);
    expect(pod.log('fail')).toBe('failing\n');
    // SIGTERM came first and was survived (its handler ran), then SIGKILL ended it (137 above).
    expect(pod.log('stubborn')).toContain('got-term\n');
  });

  it('an app that cannot be executed: 127, a message in its log, no started file', async () => {
    const pod = makePod([{ name: 'missing', args: ['/no/such/program'] }]);
    const r = await runPod(pod);
    expect(r.code).toBe(127);
    expect(pod.status('missing')).toBe('127\n');
    expect(pod.started('missing')).toBe(false);
    expect(pod.log('missing')).toBe('capsule-stage1: app missing: exec /no/such/program: No such file or directory\n');
    // Not in the app's PATH (inside its root).
    const pod2 = makePod([{ name: 'nopath', args: ['no-such-command'], env: ['PATH=/usr/bin:/bin'] }]);
    expect((await runPod(pod2)).code).toBe(127);
    expect(pod2.log('nopath')).toBe('capsule-stage1: app nopath: exec no-such-command: No such file or directory\n');
    expect(pod2.started('nopath')).toBe(false);
  });

  it('a failing setup step: 254 and one line naming the app and the step', async () => {
    const pod = makePod([{ name: 'badcwd', args: ['/bin/true'], uid: 1000, gid: 1000, cwd: '/no/such/dir' }]);
    const r = await runPod(pod);
    expect(r.code).toBe(254);
    expect(pod.status('badcwd')).toBe('254\n');
    expect(pod.started('badcwd')).toBe(false);
    expect(pod.log('badcwd')).toBe('capsule-stage1: app badcwd: chdir /no/such/dir: No such file or directory\n');
  });

  it('SIGTERM to run reaches the apps through nspawn and init; ppid is systemd-nspawn, its child the init', async () => {
    const pod = makePod([{ name: 'a', args: ['/bin/sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'] }]);
    const run = runPod(pod);
    await waitFor('app a started', () => pod.started('a') && pod.log('a').includes('ready'));
    const nspawn = pod.ppid();
    expect(fs.readFileSync(`/proc/${nspawn}/cmdline`, 'utf8').split('\0')[0]).toBe(NSPAWN);
    const init = initPid(nspawn);
    expect(fs.readFileSync(`/proc/${init}/cmdline`, 'utf8')).toBe('/capsule/init\0init\0');
    run.child.kill('SIGTERM');
    const r = await run;
    expect(r.code).toBe(7);
    expect(pod.status('a')).toBe('7\n');
    expect(pod.log('a')).toContain('got-term\n');
    expect(alive(nspawn)).toBe(false);
  });

  it('SIGKILL to systemd-nspawn ends the container too; run exits 137', async () => {
    const pod = makePod([{ name: 'a', args: ['/bin/sleep', '100'] }]);
    const run = runPod(pod);
    await waitFor('app a started', () => pod.started('a'));
    const nspawn = pod.ppid();
    const init = initPid(nspawn);
    process.kill(nspawn, 'SIGKILL');
    const r = await run;
    expect(r.code).toBe(137);
    await waitFor('the init to end', () => exited(init), 5000);
  });

  it('enter runs a command in a running app with its ids, caps, seccomp, cgroup, root and env plus TERM', async () => {
    const app: AppSpec = {
      name: 'svc',
      args: ['/bin/sleep', '100'],
      env: ['PATH=/bin', 'FOO=from-plan', 'TERM=dumb'],
      uid: 1000,
      gid: 1000,
      groups: [5],
      cwd: '/tmp',
      capbnd: '3',
      seccomp: { mode: 'remove', errno: 1, syscalls: ['reboot'] },
      memory: MB64,
      readonly: true,
    };
    const pod = makePod([app]);
    const run = runPod(pod);
    await waitFor('app svc started', () => pod.started('svc'));
    const init = initPid(pod.ppid());

    const env = { ...process.env, TERM: 'xterm-enter' };
    const r = await runHelper(['enter', pod.podPlan, 'svc', String(init), '--', 'sh', '-c', `${PROBE}\nexit 9`], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(9);
    const f = facts(r.stdout);
    expect(f).toMatchObject({ uid: '1000', gid: '1000', groups: '1000 5', cwd: '/tmp', foo: 'from-plan', term: 'xterm-enter' });
    expect(f).toMatchObject({ CapBnd: '0000000000000003', CapEff: '0000000000000000', Seccomp: '2', NoNewPrivs: '0', rootfs: 'ro' });
    expect(f.pid1).toBe('/capsule/init init ');
    expect(Number(f.cpuinfo)).toBeGreaterThan(0);
    if (MEMCG) expect(f.mem).toBe(MB64);

    const missing = await runHelper(['enter', pod.podPlan, 'svc', String(init), '--', '/no/such']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toBe('capsule-stage1: app svc: exec /no/such: No such file or directory\n');
    const noApp = await runHelper(['enter', pod.podPlan, 'nope', String(init), '--', '/bin/true']);
    expect(noApp.code).toBe(254);
    expect(noApp.stderr).toBe(`capsule-stage1: ${pod.podPlan}: no app 'nope'\n`);

    run.child.kill('SIGTERM');
    const done = await run;
    expect(done.code).toBe(143);
    expect(pod.status('svc')).toBe('143\n');
  });
});

describe.skipIf(skip !== null)('capsule-stage1 init notify', () => {
  it.skipIf(!hasPython)('sends READY=1 once every app has started and gives app-notify apps the socket', async () => {
    const dir = path.join(work, `notify-${id()}`);
    const root = path.join(dir, 'rootfs');
    busyboxTree(root);
    const sock = path.join(dir, 'notify.sock');
    // Node has no unix datagram sockets: a tiny python receiver prints what it gets.
    const receiver = spawn('python3', ['-c', `import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound",flush=True)\ns.settimeout(20)\nprint(s.recv(100).decode(),flush=True)`, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    spawned.push(receiver);
    let got = '';
    receiver.stdout.on('data', (d: Buffer) => (got += d.toString()));
    await waitFor('receiver bound', () => got.includes('bound'));
    const plan: Plan = [['notify', '1']];
    plan.push(...appSection({ name: 'n', args: ['/bin/sh', '-c', 'echo "sock=$NOTIFY_SOCKET"; test -S "$NOTIFY_SOCKET" && echo socket=yes'], notify: true }, root, { status: path.join(dir, 'n.status') }, []));
    plan.push(...appSection({ name: 'm', args: ['/bin/sleep', '0.3'] }, root, {}, []));
    // tty mode: init's own stdio, no log, and the app keeps init's session.
    const ttyLog = path.join(dir, 't.log');
    plan.push(...appSection({ name: 't', args: ['/bin/sh', '-c', 'echo "tty-sid=$(cut -d" " -f6 /proc/self/stat)"'], tty: true }, root, { log: ttyLog }, []));
    fs.writeFileSync(path.join(dir, 'plan'), encodePlan(plan));
    // init outside a container (each app still gets its own mount namespace).
    const r = await runHelper(['init', path.join(dir, 'plan')], { env: { ...process.env, NOTIFY_SOCKET: sock } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(facts(r.stdout)).toMatchObject({ sock, socket: 'yes' });
    expect(facts(r.stdout)['tty-sid']).toBe(fs.readFileSync('/proc/self/stat', 'utf8').split(' ')[5]);
    expect(fs.existsSync(ttyLog)).toBe(false);
    await waitFor('READY=1', () => got.includes('READY=1'), 5000);
  });
});

describe.skipIf(skip !== null)('capsule-stage1 fly', () => {
  it('binds volumes, chroots, switches ids, writes pid and becomes the app', async () => {
    const dir = path.join(work, `fly-${id()}`);
    const root = path.join(dir, 'stage1/rootfs');
    busyboxTree(root);
    const roVol = path.join(dir, 'ro-vol');
    const rwVol = path.join(dir, 'rw-vol');
    fs.mkdirSync(roVol);
    fs.mkdirSync(rwVol);
    fs.chmodSync(rwVol, 0o777);
    fs.writeFileSync(path.join(roVol, 'f'), 'volume-data');
    const plan: Plan = [
      ['bind', roVol], ['bind-target', path.join(root, 'data/ro')], ['bind-opts', 'ro'],
      ['bind', rwVol], ['bind-target', path.join(root, 'data/rw')], ['bind-opts', ''],
      ['pid-file', 'pid'],
    ];
    const script = [
      'echo "uid=$(id -u)"; echo "gid=$(id -g)"; echo "groups=$(id -G)"; echo "cwd=$(pwd)"; echo "foo=$FOO"; echo "self=$$"',
      'echo "vol=$(cat /data/ro/f)"',
      'if touch /data/ro/x 2>/dev/null; then echo ro=writable; else echo ro=readonly; fi',
      'echo written > /data/rw/out',
      'echo "root=$(ls / | tr "\\n" " ")"',
      "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status | sed 's/:[[:space:]]*/=/'",
      'exit 5',
    ].join('\n');
    plan.push(...appSection({ name: 'f', args: ['sh', '-c', script], env: ['PATH=/bin', 'FOO=fly'], uid: 1000, gid: 100, groups: [3], cwd: '/tmp', nnp: true }, root, {}, []));
    fs.writeFileSync(path.join(dir, 'plan'), encodePlan(plan));
    const run = runHelper(['fly', path.join(dir, 'plan')], { cwd: dir });
    const r = await run;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(5);
    const f = facts(r.stdout);
    expect(f).toMatchObject({ uid: '1000', gid: '100', groups: '100 3', cwd: '/tmp', foo: 'fly', vol: 'volume-data', ro: 'readonly', NoNewPrivs: '1', Seccomp: '0' });
    // The app is the process the caller started, and pid names it.
    expect(f.self).toBe(String(run.child.pid));
    expect(fs.readFileSync(path.join(dir, 'pid'), 'utf8')).toBe(`${run.child.pid}\n`);
    expect(f.root?.split(' ').filter(Boolean).sort()).toEqual(['bin', 'data', 'dev', 'etc', 'proc', 'sys', 'tmp', 'work']);
    expect(fs.readFileSync(path.join(rwVol, 'out'), 'utf8')).toBe('written\n');
    // Mounts stayed in the helper's namespace.
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
  });

  it('refuses a bind target with a symbolic link in its path, and reports exec failures with 127', async () => {
    const dir = path.join(work, `fly-${id()}`);
    const root = path.join(dir, 'rootfs');
    busyboxTree(root);
    fs.symlinkSync('/tmp', path.join(root, 'escape'));
    const app = appSection({ name: 'f', args: ['/bin/true'] }, root, {}, []);
    const bad: Plan = [['bind', dir], ['bind-target', path.join(root, 'escape/x')], ...app];
    fs.writeFileSync(path.join(dir, 'bad'), encodePlan(bad));
    const r = await runHelper(['fly', path.join(dir, 'bad')], { cwd: dir });
    expect(r.code).toBe(254);
    expect(r.stderr).toBe(`capsule-stage1: bind ${dir} to ${path.join(root, 'escape/x')}: the target has a symbolic link in its path\n`);

    const noexec = appSection({ name: 'f', args: ['/bin/nonexistent'] }, root, {}, []);
    fs.writeFileSync(path.join(dir, 'noexec'), encodePlan(noexec));
    const n = await runHelper(['fly', path.join(dir, 'noexec')], { cwd: dir });
    expect(n.code).toBe(127);
    expect(n.stderr).toBe('capsule-stage1: app f: exec /bin/nonexistent: No such file or directory\n');
  });
});

describe.skipIf(skip !== null)('capsule-stage1 plan errors', () => {
  it('an unknown key, a malformed value or a failing host step: exit 254 with one line', async () => {
    const dir = path.join(work, `errors-${id()}`);
    fs.mkdirSync(dir);
    const write = (name: string, p: Plan | Buffer): string => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, Buffer.isBuffer(p) ? p : encodePlan(p));
      return f;
    };
    const unknown = write('unknown', [['stop-timeout', '1'], ['exec-argh', '/bin/true']]);
    for (const mode of ['run', 'init', 'fly']) {
      const r = await runHelper([mode, unknown], { cwd: dir });
      expect(r.code).toBe(254);
      expect(r.stderr).toBe(`capsule-stage1: ${unknown}: unknown key 'exec-argh'\n`);
    }
    const badValue = write('bad-value', [['app', 'a'], ['app-uid', 'root']]);
    expect((await runHelper(['init', badValue])).stderr).toBe(`capsule-stage1: ${badValue}: key 'app-uid': invalid value 'root'\n`);
    const order = write('order', [['bind', '/tmp'], ['exec-arg', '/bin/true']]);
    expect((await runHelper(['run', order])).stderr).toBe(`capsule-stage1: ${order}: key 'exec-arg': expected 'bind-target' first\n`);
    const odd = write('odd', Buffer.from('app\0a\0app-root\0'));
    expect((await runHelper(['init', odd])).stderr).toBe(`capsule-stage1: ${odd}: key 'app-root' has no value\n`);
    const cg = write('cg', [['cgroup-write', path.join(dir, 'no/such/file')], ['cgroup-value', '1'], ['exec-arg', '/bin/true']]);
    const r = await runHelper(['run', cg], { cwd: dir });
    expect(r.code).toBe(254);
    expect(r.stderr).toBe(`capsule-stage1: cgroup-write ${path.join(dir, 'no/such/file')} (1): No such file or directory\n`);
    const usage = await runHelper(['frobnicate']);
    expect(usage.code).toBe(254);
    expect(usage.stderr).toMatch(/^capsule-stage1: usage: /);
  });

  it('run passes the exec-env, inherited fds and exit status of its child, and writes ppid', async () => {
    const dir = path.join(work, `run-${id()}`);
    fs.mkdirSync(dir);
    const lock = path.join(dir, 'lock');
    fs.writeFileSync(lock, '');
    const plan = path.join(dir, 'plan');
    fs.writeFileSync(plan, encodePlan([['ppid-file', 'ppid'], ['exec-arg', BUSYBOX], ['exec-arg', 'sh'], ['exec-arg', '-c'], ['exec-arg', 'echo "x=$CAPSULE_X pid=$$"; ls -l /proc/self/fd/3 | sed "s/.*-> //"; exit 42'], ['exec-env', 'CAPSULE_X=yes']]));
    const fd = fs.openSync(lock, 'r');
    try {
      const child = spawn(HELPER, ['run', plan], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe', fd] });
      spawned.push(child);
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((res) => child.on('close', res));
      expect(code).toBe(42);
      const pid = fs.readFileSync(path.join(dir, 'ppid'), 'utf8');
      expect(out).toBe(`x=yes pid=${pid.trim()}\n${lock}\n`);
    } finally {
      fs.closeSync(fd);
    }
  });
});
