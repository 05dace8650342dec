import path from 'node:path';
import type { AppRuntime } from '../contract.js';
import { v1DeviceWrites } from './device-allow.js';

/**
 * What the host's cgroup filesystem looks like, read once (`detectCgroupHost`), so that planning
 * the pod's cgroups is a pure function with table tests.
 */
export interface CgroupHost {
  version: 'v1' | 'v2';
  /** Normally /sys/fs/cgroup. */
  root: string;
  /** v1: directory names of the hierarchies holding these controllers (`cpu` or `cpu,cpuacct`). */
  memory?: string;
  cpu?: string;
  /** v1: directory name of the devices controller's hierarchy, when mounted. */
  devices?: string;
  /** v1: hierarchies used to track processes: `systemd` (name=systemd), `unified` (hybrid). */
  tracking: string[];
  /** The caller's cgroup in each hierarchy (key: directory name; v2: ''). */
  own: Record<string, string>;
}

export interface CgroupWrite { path: string; value: string }

/** The pod's cgroups: what to create, write and join, and what to bind into the container. */
export interface CgroupPlan {
  mkdirs: string[];
  writes: CgroupWrite[];
  /** Directories the stage1 helper (and so nspawn and the pod) joins. */
  join: string[];
  /** Host dir → container path, bound into the container for the init. */
  binds: Array<{ host: string; container: string }>;
  /** Per app: cgroup dirs as seen inside the container. */
  appCgroups: Record<string, string[]>;
  cgroupfs: 'v1' | 'v2';
  /** v1: controller mount options for the app's own cgroup view. */
  controllers: string[];
  /** Every pod cgroup root, for gc (deepest first is gc's job). */
  podCgroups: string[];
}

/** Parses /proc/self/cgroup: `4:memory:/a/b`, `2:cpu,cpuacct:/`, `9:name=systemd:/`, `0::/`. */
export function parseProcCgroup(text: string, version: 'v1' | 'v2'): Record<string, string> {
  const own: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, ctrls = '', p = '/'] = m;
    if (ctrls === '') own[version === 'v2' ? '' : 'unified'] = p;
    else if (ctrls === 'name=systemd') own.systemd = p;
    else for (const c of [ctrls, ...ctrls.split(',')]) own[c] = p;
  }
  return own;
}

const CPU_PERIOD_US = 100_000;

/** cgroup v2 cpu.weight from v1 shares (systemd's conversion). */
export function sharesToWeight(shares: number): number {
  return Math.max(1, Math.min(10_000, Math.round(1 + ((shares - 2) * 9999) / 262_142)));
}

/** Which v1 controller hierarchies an app needs a cgroup in: only those an isolator asks for. */
export function neededControllers(apps: readonly AppRuntime[]): Array<'memory' | 'cpu'> {
  const out: Array<'memory' | 'cpu'> = [];
  if (apps.some((a) => a.memoryLimit !== null)) out.push('memory');
  if (apps.some((a) => a.cpuMilli !== null || a.cpuShares !== null)) out.push('cpu');
  return out;
}

function v1Controllers(host: CgroupHost, apps: readonly AppRuntime[]): Array<['memory' | 'cpu', string]> {
  const out: Array<['memory' | 'cpu', string]> = [];
  for (const kind of neededControllers(apps)) {
    const dirName = host[kind];
    if (dirName) out.push([kind, dirName]);
  }
  return out;
}

const ISOLATOR_OF = { memory: 'memory limit (--memory, resource/memory)', cpu: 'CPU limit (--cpu, --cpu-shares)' } as const;

/**
 * v1, before anything is made: every controller hierarchy an isolator needs must let the pod's
 * cgroup be made under the caller's own cgroup there. In a systemd unit that is the unit's cgroup,
 * which exists in a controller hierarchy (and is the unit's to use) only with Delegate=yes; the
 * hierarchy above it is systemd's (or read-only, in a container). Returns the one-line refusal,
 * or null. `writable` tests a directory (access W_OK, which also sees a read-only mount).
 */
export function cgroupDelegationProblem(host: CgroupHost, apps: readonly AppRuntime[], inUnit: boolean, writable: (dir: string) => boolean): string | null {
  if (host.version !== 'v1') return null;
  for (const [kind, dirName] of v1Controllers(host, apps)) {
    const hierarchy = path.join(host.root, dirName);
    const own = host.own[dirName] ?? '/';
    const parent = path.join(hierarchy, own);
    const unit = host.own.systemd;
    const notTheUnits = inUnit && unit !== undefined && own !== unit;
    if (writable(parent) && !notTheUnits) continue;
    const why = notTheUnits ? `the unit has no ${kind} cgroup of its own there (it is in ${own}, the unit in ${unit})` : `${parent} is not writable`;
    // A read-only hierarchy (a container's): Delegate= alone cannot help, the container's manager must delegate first.
    const ro = writable(hierarchy) ? '' : ` (the hierarchy is read-only here, as in a container: its manager must delegate the ${kind} controller first)`;
    return `an app's ${ISOLATOR_OF[kind]} needs a cgroup in the ${kind} hierarchy ${hierarchy}, but ${why}: start the pod from a unit with Delegate=yes (or Delegate=${kind}), which gives the unit a ${kind} cgroup of its own${ro}`;
  }
  return null;
}

/**
 * Plans the pod's cgroups. v1: memory and cpu cgroups only when an isolator asks for them; under the caller's cgroup in each hierarchy, like nspawn's
 * `--keep-unit` (so a systemd service keeps its pods); v2: `capsule/<uuid>` at the root, where
 * the no-internal-processes rule allows enabling controllers. Each app gets `app-<name>`.
 * `devices` (v1): a pod cgroup in the devices hierarchy that allows only POD_DEVICES.
 */
export function planPodCgroups(host: CgroupHost, uuid: string, apps: readonly AppRuntime[], o: { devices?: boolean } = {}): CgroupPlan {
  const plan: CgroupPlan = { mkdirs: [], writes: [], join: [], binds: [], appCgroups: {}, cgroupfs: host.version, controllers: [], podCgroups: [] };
  const leaf = `capsule-${uuid}`;
  if (host.version === 'v2') {
    const top = path.join(host.root, 'capsule');
    const pod = path.join(top, uuid);
    plan.mkdirs.push(pod, path.join(pod, 'nspawn'));
    plan.writes.push({ path: path.join(host.root, 'cgroup.subtree_control'), value: '+memory +cpu' }, { path: path.join(top, 'cgroup.subtree_control'), value: '+memory +cpu' }, { path: path.join(pod, 'cgroup.subtree_control'), value: '+memory +cpu' });
    plan.join.push(path.join(pod, 'nspawn'));
    plan.binds.push({ host: pod, container: '/capsule/cgroup/unified' });
    plan.podCgroups.push(pod);
    for (const a of apps) {
      const dir = path.join(pod, `app-${a.name}`);
      plan.mkdirs.push(dir);
      if (a.memoryLimit !== null) plan.writes.push({ path: path.join(dir, 'memory.max'), value: String(a.memoryLimit) });
      if (a.cpuMilli !== null) plan.writes.push({ path: path.join(dir, 'cpu.max'), value: `${Math.max(1000, a.cpuMilli * (CPU_PERIOD_US / 1000))} ${CPU_PERIOD_US}` });
      if (a.cpuShares !== null) plan.writes.push({ path: path.join(dir, 'cpu.weight'), value: String(sharesToWeight(a.cpuShares)) });
      plan.appCgroups[a.name] = [`/capsule/cgroup/unified/app-${a.name}`];
    }
    return plan;
  }
  const hier = (name: string): string => path.join(host.root, name, host.own[name] ?? '/', leaf);
  for (const t of host.tracking) {
    const pod = hier(t);
    plan.mkdirs.push(pod);
    plan.join.push(pod);
    plan.podCgroups.push(pod);
  }
  // The device allow-list (device-policy.ts decides whether it is Capsule's to apply): one pod
  // cgroup, no per-app ones, so the helper, nspawn, the init, every app and `enter` share it.
  if (o.devices === true && host.devices !== undefined) {
    const pod = hier(host.devices);
    plan.mkdirs.push(pod);
    plan.writes.push(...v1DeviceWrites(pod));
    plan.join.push(pod);
    plan.podCgroups.push(pod);
  }
  for (const [kind, dirName] of v1Controllers(host, apps)) {
    const pod = hier(dirName);
    plan.mkdirs.push(pod);
    plan.join.push(pod);
    plan.podCgroups.push(pod);
    plan.binds.push({ host: pod, container: `/capsule/cgroup/${kind}` });
    plan.controllers.push(dirName);
    for (const a of apps) {
      const dir = path.join(pod, `app-${a.name}`);
      plan.mkdirs.push(dir);
      if (kind === 'memory' && a.memoryLimit !== null) plan.writes.push({ path: path.join(dir, 'memory.limit_in_bytes'), value: String(a.memoryLimit) });
      if (kind === 'cpu' && a.cpuMilli !== null) plan.writes.push({ path: path.join(dir, 'cpu.cfs_quota_us'), value: String(Math.max(1000, a.cpuMilli * (CPU_PERIOD_US / 1000))) });
      if (kind === 'cpu' && a.cpuShares !== null) plan.writes.push({ path: path.join(dir, 'cpu.shares'), value: String(a.cpuShares) });
      (plan.appCgroups[a.name] ??= []).push(`/capsule/cgroup/${kind}/app-${a.name}`);
    }
  }
  return plan;
}
