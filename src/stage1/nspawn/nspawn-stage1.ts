import fs from 'node:fs';
import path from 'node:path';
import tty from 'node:tty';
import { CapsuleError } from '../../errors/capsule-error.js';
import { detectCgroupHost, removeCgroupTrees } from '../common/cgroup-host.js';
import { writeEtcFiles } from '../common/etc-files.js';
import { encodePlan } from '../common/plan-file.js';
import { podInitPid, readPodPid, signal } from '../common/pod-process.js';
import { POD_FILES, STAGE1_INTERFACE_VERSION, type PodRuntime, type Stage1, type Stage1Env } from '../contract.js';
import { checkNet, hostnameFor, planNspawn } from './nspawn-plan.js';

const CGROUPS_FILE = 'stage1/cgroups.json';

function appRootsForEtc(e: Stage1Env, pod: PodRuntime, app: PodRuntime['apps'][number]): { target: string; image: string } {
  if (pod.overlay) return { target: path.join(e.podDir, POD_FILES.appUpper(app.name)), image: path.join(e.treeDir, app.image.treeId, 'rootfs') };
  const copy = path.join(e.podDir, POD_FILES.appRootfs(app.name));
  return { target: copy, image: copy };
}

/** systemd-nspawn (the default flavour): one container per pod, the helper as its init. */
export const nspawnStage1: Stage1 = {
  flavour: 'nspawn',
  interfaceVersion: STAGE1_INTERFACE_VERSION,

  check(o) {
    checkNet(o);
  },

  run(e, pod, o) {
    const host = { cgroups: detectCgroupHost(e.cgroupRoot), systemd: fs.existsSync('/run/systemd/system'), stdinTty: tty.isatty(0) };
    const plan = planNspawn(e, pod, o, host);
    const root = path.join(e.podDir, POD_FILES.stage1Root);
    for (const d of plan.rootDirs) fs.mkdirSync(path.join(root, d), { recursive: true, mode: 0o755 });
    fs.mkdirSync(path.join(e.podDir, POD_FILES.statusDir), { recursive: true });
    fs.mkdirSync(path.join(e.podDir, POD_FILES.logsDir), { recursive: true });
    for (const a of pod.apps) {
      const r = appRootsForEtc(e, pod, a);
      writeEtcFiles(r.target, r.image, hostnameFor(o));
    }
    fs.writeFileSync(path.join(e.podDir, CGROUPS_FILE), JSON.stringify(plan.cgroups));
    fs.writeFileSync(path.join(e.podDir, 'stage1/pod-plan'), encodePlan(plan.podPlan));
    fs.writeFileSync(path.join(e.podDir, POD_FILES.plan), encodePlan(plan.hostPlan));
    return Promise.resolve(plan.handover);
  },

  enter(e, pod, app, cmd) {
    if (!pod.apps.some((a) => a.name === app)) throw new CapsuleError('enter', `app ${JSON.stringify(app)} is not in the pod`);
    const pid = podInitPid(e.podDir);
    const helper = path.join(e.libexecDir, 'capsule-stage1');
    return Promise.resolve({ cwd: e.podDir, argv: [helper, 'enter', path.join(e.podDir, 'stage1/pod-plan'), app, String(pid), '--', ...cmd], env: {} });
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
    let cgroups: string[] = [];
    try {
      cgroups = JSON.parse(fs.readFileSync(path.join(e.podDir, CGROUPS_FILE), 'utf8')) as string[];
    } catch {
      return;
    }
    const ours = cgroups.filter((c) => typeof c === 'string' && c.startsWith(`${e.cgroupRoot}/`) && path.basename(c).includes(pod.uuid));
    const failed = await removeCgroupTrees(ours);
    if (failed.length > 0) throw new CapsuleError('stage1-gc', `could not remove cgroup ${failed[0]}`);
  },
};
