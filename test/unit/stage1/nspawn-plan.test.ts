import { describe, expect, it } from 'vitest';
import type { AppRuntime, PodRuntime, Stage1Env } from '../../../src/stage1/contract.js';
import { planNspawn } from '../../../src/stage1/nspawn/nspawn-plan.js';
import { cgroupDelegationProblem, planPodCgroups, parseProcCgroup, sharesToWeight, type CgroupHost } from '../../../src/stage1/common/cgroups.js';

const UUID = '0b3c1c1e-5d7e-4a52-9a1b-2f2f5d0f9a11';
const app = (over: Partial<AppRuntime> = {}): AppRuntime => ({
  name: 'probe',
  image: { id: 'sha512-aa', name: 'example.com/capsule/probe', treeId: 'deps-sha512-bb' },
  exec: ['/probe', 'all'],
  env: [['PATH', '/bin']],
  uid: 0,
  gid: 0,
  supplementaryGids: [],
  workingDirectory: '/',
  readOnlyRootfs: false,
  capabilities: ['CAP_CHOWN', 'CAP_KILL'],
  noNewPrivileges: false,
  seccomp: { mode: 'remove', syscalls: ['reboot'], errno: 'EPERM' },
  memoryLimit: null,
  cpuMilli: null,
  cpuShares: null,
  oomScoreAdj: null,
  mounts: [],
  supportsNotify: false,
  ...over,
});
const pod = (apps: AppRuntime[], over: Partial<PodRuntime> = {}): PodRuntime => ({ interfaceVersion: 1, flavour: 'nspawn', uuid: UUID, apps, volumes: [], overlay: true, unmaskedPaths: false, ...over });
const env = (over: Partial<Stage1Env['env']> = {}): Stage1Env => ({ podDir: '/d/pods/run/U', treeDir: '/d/tree', libexecDir: '/x/libexec', cgroupRoot: '/sys/fs/cgroup', env: over });
const v1: CgroupHost = { version: 'v1', root: '/sys/fs/cgroup', memory: 'memory', cpu: 'cpu', tracking: ['systemd'], own: { memory: '/m', cpu: '/', systemd: '/s' } };
const v2: CgroupHost = { version: 'v2', root: '/sys/fs/cgroup', tracking: [], own: { '': '/user.slice' } };
const keys = (entries: Array<[string, string]>, k: string): string[] => entries.filter(([key]) => key === k).map(([, v]) => v);

describe('planNspawn', () => {
  it('runs the helper as the container init without registering when the host has no systemd', () => {
    const p = planNspawn(env(), pod([app()]), { uuid: UUID }, { cgroups: v1, systemd: false, stdinTty: false });
    const argv = keys(p.hostPlan, 'exec-arg');
    expect(argv[0]).toBe('/usr/bin/systemd-nspawn');
    expect(argv).toContain('--register=no');
    expect(argv).toContain('--keep-unit');
    expect(argv).toContain(`--hostname=capsule-${UUID}`);
    expect(argv).toContain('--private-network');
    expect(argv).toContain('--console=pipe');
    expect(argv.slice(-2)).toEqual(['/capsule/init', 'init']);
    expect(keys(p.hostPlan, 'overlay')).toEqual(['lowerdir=/d/tree/deps-sha512-bb/rootfs,upperdir=/d/pods/run/U/apps/probe/upper,workdir=/d/pods/run/U/apps/probe/work']);
    expect(keys(p.hostPlan, 'overlay-target')).toEqual(['/d/pods/run/U/stage1/rootfs/opt/stage2/probe/rootfs']);
    expect(p.handover.argv).toEqual(['/x/libexec/capsule-stage1', 'run', '/d/pods/run/U/stage1/plan']);
  });

  it.each([
    [true, '--console=interactive', ['1', undefined]],
    [false, '--console=pipe', ['0', '1']],
  ])('--interactive with a terminal on stdin: %s gives %s and the app tty/stdin keys %j', (stdinTty, console, [appTty, appStdin]) => {
    const p = planNspawn(env(), pod([app()]), { uuid: UUID, interactive: true }, { cgroups: v1, systemd: false, stdinTty });
    expect(keys(p.hostPlan, 'exec-arg')).toContain(console);
    expect(keys(p.podPlan, 'app-tty')).toEqual([appTty]);
    expect(keys(p.podPlan, 'app-stdin')[0]).toBe(appStdin);
  });

  it('registers with machined when the host runs systemd, keeping the unit inside a service', () => {
    const argv = keys(planNspawn(env({ INVOCATION_ID: 'x' }), pod([app()]), { uuid: UUID, net: 'host' }, { cgroups: v1, systemd: true, stdinTty: false }, { kind: 'host' }).hostPlan, 'exec-arg');
    expect(argv).toContain('--register=yes');
    expect(argv).toContain('--keep-unit');
    expect(argv).not.toContain('--private-network');
  });

  it('passes event handlers to the init as app-pre-start/app-post-stop argv, and the stop grace period', () => {
    const p = planNspawn(env(), pod([app({ preStart: ['/bin/sh', '-c', 'x'], postStop: ['/post'] }), app({ name: 'plain' })], { stopGraceMs: 2500 }), { uuid: UUID }, { cgroups: v1, systemd: false, stdinTty: false });
    expect(keys(p.podPlan, 'app-pre-start')).toEqual(['/bin/sh', '-c', 'x']);
    expect(keys(p.podPlan, 'app-post-stop')).toEqual(['/post']);
    expect(keys(p.podPlan, 'stop-grace-ms')).toEqual(['2500']);
    // In the app's own section, after its name.
    const i = p.podPlan.findIndex(([k, v]) => k === 'app' && v === 'plain');
    expect(p.podPlan.slice(i).some(([k]) => k === 'app-pre-start')).toBe(false);
    expect(keys(planNspawn(env(), pod([app()]), { uuid: UUID }, { cgroups: v1, systemd: false, stdinTty: false }).podPlan, 'stop-grace-ms')).toEqual(['500']);
  });

  it('a CNI net: nspawn joins the namespace the helper passes on fd 9; the helper gets the teardown steps', () => {
    const teardown = { lock: 'net/lock', netnsMarker: 'net/netns', steps: [{ binary: '/usr/lib/cni/ptp', env: { CNI_COMMAND: 'DEL' }, stdin: 'net/0.del0', record: 'net/0.json', last: true }] };
    const p = planNspawn(env(), pod([app()]), { uuid: UUID }, { cgroups: v1, systemd: false, stdinTty: false }, { kind: 'netns', path: '/run/capsule/netns/capsule-x', netnsDir: '/run/capsule/netns', teardown });
    const argv = keys(p.hostPlan, 'exec-arg');
    expect(argv).toContain('--network-namespace-path=/proc/self/fd/9');
    expect(argv).not.toContain('--private-network');
    expect(keys(p.hostPlan, 'netns-path')).toEqual(['/run/capsule/netns/capsule-x']);
    expect(keys(p.hostPlan, 'netns-dir')).toEqual(['/run/capsule/netns']);
    expect(keys(p.hostPlan, 'td-exec')).toEqual(['/usr/lib/cni/ptp']);
    expect(keys(p.hostPlan, 'td-env')).toEqual(['CNI_COMMAND=DEL']);
    expect(keys(p.hostPlan, 'td-record')).toEqual(['net/0.json']);
    expect(keys(p.hostPlan, 'td-netns-marker')).toEqual(['net/netns']);
    expect(keys(planNspawn(env(), pod([app()]), { uuid: UUID, net: 'none' }, { cgroups: v1, systemd: false, stdinTty: false }, { kind: 'none' }).hostPlan, 'exec-arg')).toContain('--private-network');
  });

  it('--private-users: nspawn gets the pod\'s range with ownership off (the tree is shifted), the cgroups their owner', () => {
    const p = planNspawn(env(), pod([app()], { overlay: false, privateUsers: { base: 0x20000000, size: 65536 } }), { uuid: UUID }, { cgroups: v1, systemd: false, stdinTty: false });
    const argv = keys(p.hostPlan, 'exec-arg');
    expect(argv).toContain(`--private-users=${0x20000000}:65536`);
    expect(argv).toContain('--private-users-ownership=off');
    const owner = p.hostPlan.findIndex(([k]) => k === 'cgroup-owner');
    expect(p.hostPlan[owner]).toEqual(['cgroup-owner', String(0x20000000)]);
    expect(p.hostPlan.findIndex(([k]) => k === 'cgroup-mkdir')).toBeGreaterThan(owner);
    const plain = planNspawn(env(), pod([app()]), { uuid: UUID }, { cgroups: v1, systemd: false, stdinTty: false });
    expect(keys(plain.hostPlan, 'cgroup-owner')).toEqual([]);
    expect(keys(plain.hostPlan, 'exec-arg').some((a) => a.startsWith('--private-users'))).toBe(false);
  });

  it('--private-users on a CNI net: the helper joins the netns itself (no --network-namespace-path), no fresh sysfs for the init', () => {
    const teardown = { lock: 'net/lock', netnsMarker: 'net/netns', steps: [] };
    const p = planNspawn(env(), pod([app()], { overlay: false, privateUsers: { base: 0x20000000, size: 65536 } }), { uuid: UUID }, { cgroups: v1, systemd: false, stdinTty: false }, { kind: 'netns', path: '/run/capsule/netns/capsule-x', netnsDir: '/run/capsule/netns', teardown });
    expect(keys(p.hostPlan, 'netns-setns')).toEqual(['1']);
    expect(keys(p.hostPlan, 'exec-arg').some((a) => a.startsWith('--network-namespace-path'))).toBe(false);
    expect(keys(p.hostPlan, 'exec-arg')).not.toContain('--private-network');
    expect(keys(p.podPlan, 'sysfs')).toEqual([]);
    const plain = planNspawn(env(), pod([app()]), { uuid: UUID }, { cgroups: v1, systemd: false, stdinTty: false }, { kind: 'netns', path: '/run/capsule/netns/capsule-x', netnsDir: '/run/capsule/netns', teardown });
    expect(keys(plain.hostPlan, 'netns-setns')).toEqual([]);
    expect(keys(plain.podPlan, 'sysfs')).toEqual(['ro']);
  });

  it('reports readiness itself unless an app announces notify support', () => {
    const plain = planNspawn(env({ NOTIFY_SOCKET: '/run/n' }), pod([app()]), { uuid: UUID }, { cgroups: v1, systemd: false, stdinTty: false });
    expect(keys(plain.podPlan, 'notify')).toEqual(['1']);
    expect(keys(plain.hostPlan, 'exec-arg')).toContain('--notify-ready=yes');
    const own = planNspawn(env({ NOTIFY_SOCKET: '/run/n' }), pod([app({ supportsNotify: true })]), { uuid: UUID }, { cgroups: v1, systemd: false, stdinTty: false });
    expect(keys(own.podPlan, 'notify')).toEqual(['0']);
    expect(keys(own.podPlan, 'app-notify')).toEqual(['1']);
  });

  it('binds each volume once at /capsule/volumes/<name> (colons escaped); the init mounts it at the unresolved target, read-only when asked', () => {
    const p = planNspawn(
      env(),
      pod([app({ mounts: [{ volume: 'data', path: '/data', readOnly: false }, { volume: 'scratch', path: '/tmp/s', readOnly: true }] })], {
        volumes: [
          { name: 'data', kind: 'host', source: '/srv/a:b', readOnly: false, recursive: false, mode: '0755', uid: 0, gid: 0 },
          { name: 'scratch', kind: 'empty', readOnly: false, recursive: true, mode: '0755', uid: 0, gid: 0 },
        ],
      }),
      { uuid: UUID },
      { cgroups: v1, systemd: false, stdinTty: false },
    );
    const argv = keys(p.hostPlan, 'exec-arg');
    expect(argv).toContain('--bind=/srv/a\\:b:/capsule/volumes/data:norbind');
    expect(argv).toContain('--bind=/d/pods/run/U/volumes/scratch:/capsule/volumes/scratch:norbind');
    expect(argv.filter((x) => x.includes('/opt/stage2/probe/rootfs/'))).toEqual([]);
    const m = p.podPlan.filter(([k]) => k.startsWith('app-mount'));
    expect(m).toEqual([
      ['app-mount', '/capsule/volumes/data'],
      ['app-mount-target', '/data'],
      ['app-mount', '/capsule/volumes/scratch'],
      ['app-mount-target', '/tmp/s'],
      ['app-mount-opts', 'ro'],
    ]);
  });

  it('gives nspawn every capability an app retains; the per-app filters replace nspawn\'s own', () => {
    const p = planNspawn(env(), pod([app({ capabilities: ['CAP_SYS_TIME'], seccomp: null })]), { uuid: UUID }, { cgroups: v1, systemd: false, stdinTty: false });
    expect(keys(p.hostPlan, 'exec-arg')).toContain('--capability=CAP_SYS_TIME');
    expect(keys(p.hostPlan, 'exec-env')).toContain('SYSTEMD_SECCOMP=0');
    expect(keys(p.podPlan, 'app-seccomp')).toEqual(['none']);
    const filtered = planNspawn(env(), pod([app()]), { uuid: UUID }, { cgroups: v1, systemd: false, stdinTty: false });
    expect(keys(filtered.hostPlan, 'exec-env')).toContain('SYSTEMD_SECCOMP=0');
    expect(keys(filtered.podPlan, 'app-seccomp')).toEqual(['remove']);
    expect(keys(filtered.podPlan, 'app-syscall')).toEqual(['reboot']);
  });

  it('refuses paths overlayfs options cannot carry', () => {
    expect(() => planNspawn({ ...env(), treeDir: '/a,b/tree' }, pod([app()]), { uuid: UUID }, { cgroups: v1, systemd: false, stdinTty: false })).toThrow(/overlayfs options/);
  });
});

describe('planPodCgroups', () => {
  it('v1: nests the pod under the caller in each hierarchy and limits each app', () => {
    const p = planPodCgroups(v1, UUID, [app({ memoryLimit: 64 << 20, cpuMilli: 500, cpuShares: 512 })]);
    expect(p.join).toEqual([`/sys/fs/cgroup/systemd/s/capsule-${UUID}`, `/sys/fs/cgroup/memory/m/capsule-${UUID}`, `/sys/fs/cgroup/cpu/capsule-${UUID}`]);
    expect(p.writes).toEqual([
      { path: `/sys/fs/cgroup/memory/m/capsule-${UUID}/app-probe/memory.limit_in_bytes`, value: String(64 << 20) },
      { path: `/sys/fs/cgroup/cpu/capsule-${UUID}/app-probe/cpu.cfs_quota_us`, value: '50000' },
      { path: `/sys/fs/cgroup/cpu/capsule-${UUID}/app-probe/cpu.shares`, value: '512' },
    ]);
    expect(p.appCgroups.probe).toEqual(['/capsule/cgroup/memory/app-probe', '/capsule/cgroup/cpu/app-probe']);
    expect(p.controllers).toEqual(['memory', 'cpu']);
  });

  it.each([
    ['no isolator: only the tracking hierarchies', {}, [`/sys/fs/cgroup/systemd/s/capsule-${UUID}`], []],
    ['a memory limit: memory only', { memoryLimit: 1 << 26 }, [`/sys/fs/cgroup/systemd/s/capsule-${UUID}`, `/sys/fs/cgroup/memory/m/capsule-${UUID}`], ['memory']],
    ['cpu shares: cpu only', { cpuShares: 10 }, [`/sys/fs/cgroup/systemd/s/capsule-${UUID}`, `/sys/fs/cgroup/cpu/capsule-${UUID}`], ['cpu']],
  ])('v1, %s', (_what, over: Partial<AppRuntime>, join, controllers) => {
    const p = planPodCgroups(v1, UUID, [app(over)]);
    expect(p.join).toEqual(join);
    expect(p.mkdirs.filter((d) => !d.includes('/systemd/'))).toEqual(p.join.filter((d) => !d.includes('/systemd/')).flatMap((d) => [d, `${d}/app-probe`]));
    expect(p.controllers).toEqual(controllers);
  });

  describe('cgroupDelegationProblem (v1, a unit on a host whose hierarchy above the unit is read-only)', () => {
    const unitHost: CgroupHost = { version: 'v1', root: '/sys/fs/cgroup', memory: 'memory', cpu: 'cpu,cpuacct', tracking: ['systemd'], own: { systemd: '/system.slice/web.service', memory: '/system.slice/web.service', 'cpu,cpuacct': '/' } };
    const all = (): boolean => true;
    it('no isolator: nothing to check, whatever is writable', () => expect(cgroupDelegationProblem(unitHost, [app()], true, () => false)).toBeNull());
    it('a delegated, writable memory cgroup of the unit: fine', () => expect(cgroupDelegationProblem(unitHost, [app({ memoryLimit: 1 << 26 })], true, all)).toBeNull());
    it('cpu where the unit has no cgroup of its own: names the hierarchy and Delegate=', () =>
      expect(cgroupDelegationProblem(unitHost, [app({ cpuMilli: 500 })], true, all)).toBe(
        "an app's CPU limit (--cpu, --cpu-shares) needs a cgroup in the cpu hierarchy /sys/fs/cgroup/cpu,cpuacct, but the unit has no cpu cgroup of its own there (it is in /, the unit in /system.slice/web.service): start the pod from a unit with Delegate=yes (or Delegate=cpu), which gives the unit a cpu cgroup of its own",
      ));
    it('a read-only hierarchy', () =>
      expect(cgroupDelegationProblem(unitHost, [app({ memoryLimit: 1 << 26 })], false, (d) => d !== '/sys/fs/cgroup/memory/system.slice/web.service')).toMatch(/needs a cgroup in the memory hierarchy \/sys\/fs\/cgroup\/memory, but \/sys\/fs\/cgroup\/memory\/system.slice\/web.service is not writable: start the pod from a unit with Delegate=yes/));
    it('outside a unit the caller cgroup is used as it is', () => expect(cgroupDelegationProblem(unitHost, [app({ cpuMilli: 500 })], false, all)).toBeNull());
    it('v2 is not checked here', () => expect(cgroupDelegationProblem(v2, [app({ memoryLimit: 1 })], true, () => false)).toBeNull());
  });

  it('v2: a pod cgroup at the root with controllers enabled and apps as leaves', () => {
    const p = planPodCgroups(v2, UUID, [app({ memoryLimit: 1 << 26, cpuMilli: 250, cpuShares: 1024 })]);
    expect(p.join).toEqual([`/sys/fs/cgroup/capsule/${UUID}/nspawn`]);
    expect(p.writes).toContainEqual({ path: `/sys/fs/cgroup/capsule/${UUID}/app-probe/cpu.max`, value: '25000 100000' });
    expect(p.writes).toContainEqual({ path: `/sys/fs/cgroup/capsule/${UUID}/app-probe/cpu.weight`, value: String(sharesToWeight(1024)) });
    expect(p.cgroupfs).toBe('v2');
  });

  it('reads the caller cgroups of v1, hybrid and v2 hosts', () => {
    expect(parseProcCgroup('9:name=systemd:/s\n4:memory:/m\n2:cpu,cpuacct:/c\n0::/u\n', 'v1')).toEqual({ systemd: '/s', memory: '/m', 'cpu,cpuacct': '/c', cpu: '/c', cpuacct: '/c', unified: '/u' });
    expect(parseProcCgroup('0::/user.slice\n', 'v2')).toEqual({ '': '/user.slice' });
  });
});
