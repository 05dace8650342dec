import { capabilityMask } from '../../spec/capabilities.js';
import { parseErrno } from '../../spec/errno.js';
import type { AppRuntime } from '../contract.js';

export type PlanEntries = Array<[string, string]>;

/** Kernel paths an app must not see (rkt's InaccessiblePaths, plus docker's). /sys/fs stays: the app's cgroup view lives there. */
export const MASKED_PATHS = ['proc/kcore', 'proc/kmem', 'proc/mem', 'proc/kallsyms', 'proc/sched_debug', 'proc/config.gz', 'proc/timer_list', 'proc/keys', 'proc/latency_stats', 'sys/firmware', 'sys/hypervisor', 'sys/module', 'sys/power'];
/** Kernel paths an app may read but not change. */
export const READONLY_PATHS = ['proc/sysrq-trigger', 'proc/bus', 'proc/fs', 'proc/irq', 'proc/sys', 'proc/asound'];

/** A volume as the helper mounts it: SRC as the helper sees it, onto TARGET resolved inside the app's root. */
export interface AppVolumeMount {
  src: string;
  /** As the user or image gave it: absolute or relative to "/", symlinks and ".." resolved by the helper inside the root. */
  target: string;
  rec: boolean;
  ro: boolean;
}

export interface AppPlanContext {
  /** The app's root as the helper sees it. */
  root: string;
  cgroups: string[];
  cgroupfs: 'v1' | 'v2' | 'none';
  controllers: string[];
  unmaskedPaths: boolean;
  log?: string;
  /** Where the helper dates what it appends to `log` (POD_FILES.appLogTimes). */
  logTimes?: string;
  status?: string;
  started?: string;
  tty: boolean;
  mounts?: readonly AppVolumeMount[];
  /** The app reads the init's own stdin (--interactive without a terminal) instead of /dev/null. */
  stdin?: boolean;
}

/** The helper's `app` section for one app (docs/stage1-contract.md, "The nspawn flavour"). */
export function appPlan(a: AppRuntime, c: AppPlanContext): PlanEntries {
  const e: PlanEntries = [['app', a.name], ['app-root', c.root]];
  for (const arg of a.exec) e.push(['app-arg', arg]);
  for (const arg of a.preStart ?? []) e.push(['app-pre-start', arg]);
  for (const arg of a.postStop ?? []) e.push(['app-post-stop', arg]);
  for (const [k, v] of a.env) e.push(['app-env', `${k}=${v}`]);
  e.push(['app-uid', String(a.uid)], ['app-gid', String(a.gid)]);
  for (const g of a.supplementaryGids) e.push(['app-group', String(g)]);
  e.push(['app-cwd', a.workingDirectory]);
  e.push(['app-capbnd', a.capabilities === 'all' ? 'all' : capabilityMask(a.capabilities)]);
  e.push(['app-nnp', a.noNewPrivileges ? '1' : '0']);
  if (a.seccomp === null) e.push(['app-seccomp', 'none']);
  else {
    e.push(['app-seccomp', a.seccomp.mode], ['app-seccomp-errno', a.seccomp.errno === null ? '0' : String(parseErrno(a.seccomp.errno))]);
    for (const s of a.seccomp.syscalls) e.push(['app-syscall', s]);
  }
  if (a.oomScoreAdj !== null) e.push(['app-oom', String(a.oomScoreAdj)]);
  for (const g of c.cgroups) e.push(['app-cgroup', g]);
  e.push(['app-cgroupfs', c.cgroupfs]);
  if (c.cgroupfs === 'v1') for (const ctrl of c.controllers) e.push(['app-cgroup-ctrl', ctrl]);
  if (!c.unmaskedPaths) {
    for (const p of MASKED_PATHS) e.push(['app-mask', p]);
    for (const p of READONLY_PATHS) e.push(['app-ro', p]);
  }
  e.push(['app-readonly', a.readOnlyRootfs ? '1' : '0']);
  if (c.log) e.push(['app-log', c.log]);
  if (c.log && c.logTimes) e.push(['app-log-times', c.logTimes]);
  if (c.status) e.push(['app-status', c.status]);
  if (c.started) e.push(['app-started', c.started]);
  e.push(['app-notify', a.supportsNotify ? '1' : '0'], ['app-tty', c.tty ? '1' : '0']);
  if (c.stdin) e.push(['app-stdin', '1']);
  if (a.stopSignal !== undefined) e.push(['app-stop-signal', String(a.stopSignal)]);
  for (const m of c.mounts ?? []) {
    e.push(['app-mount', m.src], ['app-mount-target', m.target]);
    const opts = [...(m.rec ? ['rec'] : []), ...(m.ro ? ['ro'] : [])];
    if (opts.length > 0) e.push(['app-mount-opts', opts.join(',')]);
  }
  return e;
}
