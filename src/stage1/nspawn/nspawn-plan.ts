import path from 'node:path';
import { CapsuleError } from '../../errors/capsule-error.js';
import { appPlan, type AppVolumeMount, type PlanEntries } from '../common/app-plan.js';
import { planPodCgroups, type CgroupHost } from '../common/cgroups.js';
import type { DevicePolicy } from '../common/device-policy.js';
import type { DelStep } from '../../net/net-attach.js';
import { POD_FILES, type Handover, type PodRuntime, type RunOptions, type Stage1Env } from '../contract.js';

export const NSPAWN = '/usr/bin/systemd-nspawn';
/** Seconds between SIGTERM and SIGKILL when a pod stops. */
export const STOP_TIMEOUT = 10;
/**
 * After one app of the pod failed, how long the others go on before they get SIGTERM: long
 * enough for an app that is starting (or in its pre-start handler) to get to the point where
 * `status` can show it started.
 */
export const STOP_GRACE_MS = 500;

/** Facts about the host the plan depends on, gathered by the caller. */
export interface NspawnHost {
  cgroups: CgroupHost;
  /** The host runs systemd as PID 1 (/run/systemd/system exists): register with machined. */
  systemd: boolean;
  /** The caller's stdin is a terminal: --interactive hands it to nspawn's console; otherwise (a pipe, a file) the app reads it directly. */
  stdinTty: boolean;
  /** Who enforces the device allow-list (chooseDevicePolicy); absent: the plan writes none. */
  devices?: DevicePolicy;
}

export interface NspawnPlan {
  /** `capsule-stage1 run`'s plan (host side). */
  hostPlan: PlanEntries;
  /** The init's plan, bound at /capsule/plan in the container. */
  podPlan: PlanEntries;
  /** Directories to create inside the container root before nspawn starts. */
  rootDirs: string[];
  /** Pod cgroups, recorded for gc. */
  cgroups: string[];
  handover: Handover;
}

/** The container's view: /opt/stage2/<app>/rootfs, as in rkt. */
export const appRootInContainer = (app: string): string => `/opt/stage2/${app}/rootfs`;

/** Where a volume is bound in the container, for the init to mount into the apps. */
export const volumeInContainer = (volume: string): string => `/capsule/volumes/${volume}`;

/** nspawn's --bind syntax separates with ':'; a ':' inside a path is escaped. */
const nspawnPath = (p: string): string => p.replace(/\\/g, '\\\\').replace(/:/g, '\\:');

function overlaySafe(p: string): string {
  if (/[,:\\\n]/.test(p)) throw new CapsuleError('stage1', `path ${JSON.stringify(p)} contains a character overlayfs options cannot carry (, : or \\)`, { hint: 'use a --dir without those characters, or --no-overlay' });
  return p;
}

export function hostnameFor(o: RunOptions): string {
  return o.hostname ?? `capsule-${o.uuid}`;
}

/** Pod → the helper's plans and systemd-nspawn's command line. Pure. */
/** The pod's network as nspawn sees it: the host's, a private one with loopback only, or the namespace CNI set up. */
export type NspawnNet = { kind: 'host' } | { kind: 'none' } | { kind: 'netns'; path: string; netnsDir: string; teardown: NetTeardown };

/** The helper passes the pod's namespace to nspawn on this fd (NETNS_FD in the helper). */
export const NETNS_FD = 9;

/** The exit-time network teardown the helper runs (paths relative to the pod dir, its cwd). */
export interface NetTeardown {
  lock: string;
  steps: DelStep[];
  /** Removed with the namespace. */
  netnsMarker: string;
}

export function planNspawn(e: Stage1Env, pod: PodRuntime, o: RunOptions, host: NspawnHost, net: NspawnNet = { kind: 'none' }): NspawnPlan {
  const podDir = e.podDir;
  const root = path.join(podDir, POD_FILES.stage1Root);
  const helper = path.join(e.libexecDir, 'capsule-stage1');
  const cg = planPodCgroups(host.cgroups, pod.uuid, pod.apps, { devices: host.devices?.kind === 'cgroup-v1' });
  const hostPlan: PlanEntries = [['host-tmpfs', '/run/systemd/nspawn']];
  const rootDirs = ['usr', 'capsule', 'capsule/pod/status', 'capsule/pod/logs'];
  for (const a of pod.apps) {
    const target = path.join(root, appRootInContainer(a.name));
    rootDirs.push(appRootInContainer(a.name).slice(1));
    if (pod.overlay) {
      const lower = overlaySafe(path.join(e.treeDir, a.image.treeId, 'rootfs'));
      const upper = overlaySafe(path.join(podDir, POD_FILES.appUpper(a.name)));
      const work = overlaySafe(path.join(podDir, POD_FILES.appWork(a.name)));
      hostPlan.push(['overlay', `lowerdir=${lower},upperdir=${upper},workdir=${work}`], ['overlay-target', target]);
    } else {
      hostPlan.push(['bind', path.join(podDir, POD_FILES.appRootfs(a.name))], ['bind-target', target], ['bind-opts', 'rec']);
    }
  }
  // The pod's root (host uid base) moves its apps into their cgroups.
  if (pod.privateUsers) hostPlan.push(['cgroup-owner', String(pod.privateUsers.base)]);
  for (const d of cg.mkdirs) hostPlan.push(['cgroup-mkdir', d]);
  for (const w of cg.writes) hostPlan.push(['cgroup-write', w.path], ['cgroup-value', w.value]);
  for (const j of cg.join) hostPlan.push(['cgroup-join', j]);
  hostPlan.push(['ppid-file', path.join(podDir, POD_FILES.ppid)]);
  if (net.kind === 'netns') {
    hostPlan.push(['net-lock', net.teardown.lock], ['netns-path', net.path], ['netns-dir', net.netnsDir]);
    if (pod.privateUsers) hostPlan.push(['netns-setns', '1']);
    for (const t of net.teardown.steps) {
      hostPlan.push(['td-exec', t.binary]);
      for (const [k, v] of Object.entries(t.env)) hostPlan.push(['td-env', `${k}=${v}`]);
      hostPlan.push(['td-stdin', t.stdin]);
      if (t.last) hostPlan.push(['td-record', t.record]);
    }
    hostPlan.push(['td-netns', net.path], ['td-netns-marker', net.teardown.netnsMarker]);
  }

  const args = [NSPAWN];
  if (!o.debug) args.push('--quiet');
  if (host.systemd) args.push('--register=yes', `--machine=capsule-${pod.uuid}`);
  else args.push('--register=no', '--keep-unit', `--machine=capsule-${pod.uuid}`);
  if (host.systemd && e.env.INVOCATION_ID) args.push('--keep-unit');
  args.push(`--directory=${root}`, `--hostname=${hostnameFor(o)}`, '--resolv-conf=off', '--timezone=off', '--link-journal=no', '--kill-signal=SIGTERM');
  // --interactive on a terminal: nspawn's console. On a pipe or file, nspawn's interactive console
  // would echo the input and lose the app's output (podman's `run -i` passes it through): the
  // container gets nspawn's stdin as it is and the init gives it to the app (app-stdin).
  const tty = o.interactive === true && host.stdinTty;
  // The tree is already chown-shifted by the flavour (no idmapped mounts: nspawn 252 cannot idmap
  // a root with the apps' mounts beneath it).
  if (pod.privateUsers) args.push(`--private-users=${pod.privateUsers.base}:${pod.privateUsers.size}`, '--private-users-ownership=off');
  args.push(tty ? '--console=interactive' : '--console=pipe');
  if (e.env.NOTIFY_SOCKET) args.push('--notify-ready=yes');
  if (net.kind === 'none') args.push('--private-network');
  // A user namespace pod: the helper joins the netns before exec (nspawn then treats it as the
  // host's and mounts /sys inside it); nspawn's own join would come after its user namespace.
  else if (net.kind === 'netns' && !pod.privateUsers) args.push(`--network-namespace-path=/proc/self/fd/${NETNS_FD}`);
  const caps = new Set<string>();
  let allCaps = false;
  for (const a of pod.apps) {
    if (a.capabilities === 'all') allCaps = true;
    else for (const c of a.capabilities) caps.add(c);
  }
  if (allCaps) args.push('--capability=all');
  else if (caps.size > 0) args.push(`--capability=${[...caps].sort().join(',')}`);
  args.push(`--bind-ro=${nspawnPath(helper)}:/capsule/init`, `--bind-ro=${nspawnPath(path.join(podDir, 'stage1/pod-plan'))}:/capsule/plan`);
  args.push(`--bind=${nspawnPath(path.join(podDir, POD_FILES.statusDir))}:/capsule/pod/status`, `--bind=${nspawnPath(path.join(podDir, POD_FILES.logsDir))}:/capsule/pod/logs`);
  for (const b of cg.binds) args.push(`--bind=${nspawnPath(b.host)}:${b.container}`);
  // Every volume an app mounts is bound once at /capsule/volumes/<name> (a path of ours, free of
  // the image's symlinks); the init mounts it into each app at the target resolved inside that
  // app's root (app-mount), after /proc, /sys and /dev, so a volume may cover those too.
  const volumes = new Map(pod.volumes.map((v) => [v.name, v]));
  const appMounts = new Map<string, AppVolumeMount[]>();
  const bound = new Set<string>();
  for (const a of pod.apps) {
    const list: AppVolumeMount[] = [];
    for (const m of a.mounts) {
      const v = volumes.get(m.volume);
      if (!v) throw new CapsuleError('stage1', `app ${a.name}: mount ${m.path}: volume ${JSON.stringify(m.volume)} not found`);
      const rec = v.kind === 'host' && v.recursive;
      if (!bound.has(v.name)) {
        bound.add(v.name);
        const src = v.kind === 'host' ? (v.source ?? '') : path.join(podDir, POD_FILES.volume(v.name));
        args.push(`${v.readOnly ? '--bind-ro' : '--bind'}=${nspawnPath(src)}:${volumeInContainer(v.name)}${rec ? '' : ':norbind'}`);
      }
      list.push({ src: volumeInContainer(v.name), target: m.path, rec, ro: v.readOnly || m.readOnly });
    }
    appMounts.set(a.name, list);
  }
  args.push('/capsule/init', 'init');

  // Every app gets its own seccomp filter from the helper (Capsule's default blocklist, or the
  // app's isolator), so nspawn's container-wide filter is redundant; compiling it is most of
  // nspawn's start-up time (~45 of ~60 ms here), so it is turned off.
  const env: Record<string, string> = { SYSTEMD_SECCOMP: '0' };
  // nspawn logs its own notices ("Trying to halt container…" when a signal reaches it along with
  // the rest of a process group or a unit's cgroup) at level info: only warnings and errors reach
  // the user's terminal or journal, unless --debug.
  if (!o.debug) env.SYSTEMD_LOG_LEVEL = 'notice';
  if (o.ipc === 'parent') env.SYSTEMD_NSPAWN_SHARE_NS_IPC = '1';
  if (pod.unmaskedPaths) env.SYSTEMD_NSPAWN_API_VFS_WRITABLE = 'yes';
  for (const a of args) hostPlan.push(['exec-arg', a]);
  for (const [k, v] of Object.entries(env)) hostPlan.push(['exec-env', `${k}=${v}`]);

  const anyNotify = pod.apps.some((a) => a.supportsNotify);
  // The init's fresh sysfs is for nspawn's own netns join (its /sys shows the host's); joined by
  // the helper first, nspawn's /sys is already the pod's (and a user namespace could not mount one).
  const podPlan: PlanEntries = [...(net.kind === 'netns' && !pod.privateUsers ? ([['sysfs', pod.unmaskedPaths ? 'rw' : 'ro']] as PlanEntries) : []),['stop-timeout', String(STOP_TIMEOUT)], ['stop-grace-ms', String(pod.stopGraceMs ?? STOP_GRACE_MS)], ['notify', e.env.NOTIFY_SOCKET && !anyNotify ? '1' : '0']];
  for (const a of pod.apps) {
    podPlan.push(
      ...appPlan(a, {
        root: appRootInContainer(a.name),
        cgroups: cg.appCgroups[a.name] ?? [],
        cgroupfs: cg.cgroupfs,
        controllers: cg.controllers,
        unmaskedPaths: pod.unmaskedPaths,
        log: `/capsule/pod/${POD_FILES.appLog(a.name)}`,
        logTimes: `/capsule/pod/${POD_FILES.appLogTimes(a.name)}`,
        status: `/capsule/pod/status/${a.name}`,
        started: `/capsule/pod/status/${a.name}.started`,
        tty,
        stdin: o.interactive === true && !tty,
        mounts: appMounts.get(a.name) ?? [],
      }),
    );
  }
  return {
    hostPlan,
    podPlan,
    rootDirs,
    cgroups: cg.podCgroups,
    handover: { cwd: podDir, argv: [helper, 'run', path.join(podDir, POD_FILES.plan)], env: {} },
  };
}
