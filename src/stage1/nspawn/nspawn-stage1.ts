import fs from 'node:fs';
import path from 'node:path';
import tty from 'node:tty';
import { CapsuleError } from '../../errors/capsule-error.js';
import { detectCgroupHost, removeCgroupTrees } from '../common/cgroup-host.js';
import { cgroupDelegationProblem } from '../common/cgroups.js';
import { chooseDevicePolicy, noDevicePolicyWarning } from '../common/device-policy.js';
import { writeEtcFiles } from '../common/etc-files.js';
import { shiftOwners } from '../../sys/shift-owners.js';
import { encodePlan } from '../common/plan-file.js';
import { podInitPid, readPodPid, signal } from '../common/pod-process.js';
import { POD_FILES, STAGE1_INTERFACE_VERSION, type Handover, type PodRuntime, type RunOptions, type Stage1, type Stage1Env } from '../contract.js';
import { hostsFile, resolvConf } from '../../net/dns-files.js';
import { checkNetOptions, DEFAULT_NET_ENV, setupPodNet, teardownPodNet, type PodNet } from './nspawn-net.js';
import { hostnameFor, planNspawn, type NspawnHost } from './nspawn-plan.js';

const readHostFile = (p: string): string | null => {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null;
  }
};

const CGROUPS_FILE = 'stage1/cgroups.json';

/**
 * A registered pod's apps get AC_METADATA_URL (appc ace.md), pointing at the host side of its
 * first net (the gateway), where the metadata service listens; an app's own value stays.
 */
function withMetadataUrl(pod: PodRuntime, net: PodNet): PodRuntime {
  if (!pod.mds) return pod;
  const gateway = net.info.find((i) => i.gateway !== '')?.gateway;
  if (gateway === undefined) throw new CapsuleError('mds-register', '--mds-register: the pod\'s network has no gateway to reach the metadata service on');
  const url = `http://${gateway.includes(':') ? `[${gateway}]` : gateway}:${pod.mds.port}/${pod.mds.token}`;
  return { ...pod, apps: pod.apps.map((a) => (a.env.some(([k]) => k === 'AC_METADATA_URL') ? a : { ...a, env: [...a.env, ['AC_METADATA_URL', url] as [string, string]] })) };
}

function writableDir(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function appRootsForEtc(e: Stage1Env, pod: PodRuntime, app: PodRuntime['apps'][number]): { target: string; image: string } {
  if (pod.overlay) return { target: path.join(e.podDir, POD_FILES.appUpper(app.name)), image: path.join(e.treeDir, app.image.treeId, 'rootfs') };
  const copy = path.join(e.podDir, POD_FILES.appRootfs(app.name));
  return { target: copy, image: copy };
}

/** --private-users: what the pod's root writes or owns, chown-shifted into its range (idempotent). */
function shiftPodOwners(podDir: string, pod: PodRuntime, r: { base: number; size: number }): void {
  const dirs = [POD_FILES.stage1Root, POD_FILES.statusDir, POD_FILES.logsDir, ...pod.apps.map((a) => POD_FILES.appRootfs(a.name)), ...pod.volumes.filter((v) => v.kind === 'empty').map((v) => POD_FILES.volume(v.name))];
  for (const d of dirs) shiftOwners(path.join(podDir, d), r.base, r.size);
}

/** systemd-nspawn (the default flavour): one container per pod, the helper as its init. */
export const nspawnStage1: Stage1 = {
  flavour: 'nspawn',
  interfaceVersion: STAGE1_INTERFACE_VERSION,

  check(o, _appCount, hasPorts, net) {
    checkNetOptions(o, hasPorts === true, net);
  },

  async run(e, pod, o) {
    const cgroups = detectCgroupHost(e.cgroupRoot);
    const systemd = fs.existsSync('/run/systemd/system');
    const inUnit = systemd && e.env.INVOCATION_ID !== undefined;
    // nspawn makes (and limits) its own scope only when it registers without --keep-unit.
    const devices = chooseDevicePolicy(cgroups, { lifted: pod.unmaskedPaths, nspawnScope: systemd && !inUnit, writable: writableDir });
    const host: NspawnHost = { cgroups, systemd, stdinTty: tty.isatty(0), devices };
    // Checked before anything (network, cgroups) is made for the pod.
    const problem = cgroupDelegationProblem(host.cgroups, pod.apps, inUnit, writableDir);
    if (problem !== null) throw new CapsuleError('stage1-cgroup', problem);
    if (devices.kind === 'none') e.warn?.(noDevicePolicyWarning(pod.uuid, devices.why));
    const net = await setupPodNet(e.podDir, e.net ?? DEFAULT_NET_ENV, pod, o);
    try {
      return writeRun(e, pod, o, host, net);
    } catch (err) {
      await teardownPodNet(e.podDir, false).catch(() => undefined);
      throw err;
    }
  },

  enter(e, pod, app, cmd, o) {
    if (!pod.apps.some((a) => a.name === app)) throw new CapsuleError('enter', `app ${JSON.stringify(app)} is not in the pod`);
    const pid = podInitPid(e.podDir);
    const helper = path.join(e.libexecDir, 'capsule-stage1');
    return Promise.resolve({ cwd: e.podDir, argv: [helper, 'enter', path.join(e.podDir, 'stage1/pod-plan'), app, String(pid), ...(o.tty ? ['--tty'] : []), '--', ...cmd], env: {} });
  },

  stop(e, _pod, force) {
    if (force) {
      // SIGKILL to the pod's init ends its whole PID namespace at once.
      let pid: number | null = null;
      try {
        pid = podInitPid(e.podDir);
      } catch {
        pid = readPodPid(e.podDir);
      }
      if (pid !== null) signal(pid, 'SIGKILL');
    } else {
      // SIGTERM straight to the pod's init, which stops the apps (SIGTERM, then SIGKILL after the
      // timeout); nspawn would pass it on too (--kill-signal), but prints a notice first.
      let pid: number | null = null;
      try {
        pid = podInitPid(e.podDir);
      } catch {
        pid = readPodPid(e.podDir);
      }
      if (pid !== null) signal(pid, 'SIGTERM');
    }
    return Promise.resolve();
  },

  async gc(e, pod) {
    // The network first: it waits for the helper's own teardown, which runs in the pod's cgroup.
    let netError: Error | null = null;
    try {
      await teardownPodNet(e.podDir);
    } catch (err) {
      netError = err instanceof Error ? err : new Error(String(err));
    }
    let cgroups: string[] = [];
    try {
      cgroups = JSON.parse(fs.readFileSync(path.join(e.podDir, CGROUPS_FILE), 'utf8')) as string[];
    } catch {
      if (netError) throw netError;
      return;
    }
    const ours = cgroups.filter((c) => typeof c === 'string' && c.startsWith(`${e.cgroupRoot}/`) && path.basename(c).includes(pod.uuid));
    const failed = await removeCgroupTrees(ours);
    if (failed.length > 0) throw new CapsuleError('stage1-gc', `could not remove cgroup ${failed[0]}`);
    if (netError) throw netError;
  },
};

function writeRun(e: Stage1Env, given: PodRuntime, o: RunOptions, host: NspawnHost, net: PodNet): Handover {
    const pod = withMetadataUrl(given, net);
    const plan = planNspawn(e, pod, o, host, net.kind === 'cni' && net.netns !== undefined && net.teardown ? { kind: 'netns', path: net.netns, netnsDir: path.dirname(net.netns), teardown: net.teardown } : { kind: net.kind === 'cni' ? 'none' : net.kind });
    const hostname = hostnameFor(o);
    const podIp = net.info.find((i) => i.ip !== '')?.ip ?? null;
    const resolv = resolvConf(o.dns ?? { mode: 'default', servers: [], search: [], options: [] }, net.kind, net.dns, readHostFile('/etc/resolv.conf'));
    const hostHosts = o.hosts?.mode === 'host' ? readHostFile('/etc/hosts') : null;
    const etc = { resolv, hosts: (imageHosts: string | null) => hostsFile(o.hosts ?? { mode: 'default', entries: [] }, hostname, podIp, imageHosts, hostHosts) };
    const root = path.join(e.podDir, POD_FILES.stage1Root);
    for (const d of plan.rootDirs) fs.mkdirSync(path.join(root, d), { recursive: true, mode: 0o755 });
    fs.mkdirSync(path.join(e.podDir, POD_FILES.statusDir), { recursive: true });
    fs.mkdirSync(path.join(e.podDir, POD_FILES.logsDir), { recursive: true });
    for (const a of pod.apps) {
      const r = appRootsForEtc(e, pod, a);
      writeEtcFiles(r.target, r.image, hostname, etc);
    }
    if (pod.privateUsers) shiftPodOwners(e.podDir, pod, pod.privateUsers);
    fs.writeFileSync(path.join(e.podDir, CGROUPS_FILE), JSON.stringify(plan.cgroups));
    fs.writeFileSync(path.join(e.podDir, 'stage1/pod-plan'), encodePlan(plan.podPlan));
    fs.writeFileSync(path.join(e.podDir, POD_FILES.plan), encodePlan(plan.hostPlan));
    return plan.handover;
}
