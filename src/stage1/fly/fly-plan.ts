import path from 'node:path';
import { CapsuleError } from '../../errors/capsule-error.js';
import { appPlan, type AppVolumeMount, type PlanEntries } from '../common/app-plan.js';
import { POD_FILES, type Handover, type PodRuntime, type Stage1Env } from '../contract.js';

/**
 * fly: one app, chroot only, for host agents (rkt's stage1-fly). No namespaces beyond mounts, no
 * cgroups, capabilities or seccomp: the app runs with the caller's privileges, as the process
 * the caller started.
 */
export function checkFly(appCount: number, net?: string): void {
  if (appCount !== 1) throw new CapsuleError('stage1', `the fly flavour runs exactly one app, this pod has ${appCount}`);
  if (net !== undefined && net !== 'host') throw new CapsuleError('stage1', `the fly flavour uses the host's network; --net=${net} is not possible`);
}

export function planFly(e: Stage1Env, pod: PodRuntime): { plan: PlanEntries; handover: Handover; root: string } {
  checkFly(pod.apps.length);
  const [app] = pod.apps;
  if (!app) throw new CapsuleError('stage1', 'the pod has no app');
  const root = path.join(e.podDir, POD_FILES.stage1Root);
  const plan: PlanEntries = [];
  if (pod.overlay) {
    const lower = path.join(e.treeDir, app.image.treeId, 'rootfs');
    plan.push(['overlay', `lowerdir=${lower},upperdir=${path.join(e.podDir, POD_FILES.appUpper(app.name))},workdir=${path.join(e.podDir, POD_FILES.appWork(app.name))}`], ['overlay-target', root]);
  } else {
    plan.push(['bind', path.join(e.podDir, POD_FILES.appRootfs(app.name))], ['bind-target', root], ['bind-opts', 'rec']);
  }
  // Volumes are mounted by the helper at their targets resolved inside the app's root (app-mount).
  const volumes = new Map(pod.volumes.map((v) => [v.name, v]));
  const mounts: AppVolumeMount[] = app.mounts.map((m) => {
    const v = volumes.get(m.volume);
    if (!v) throw new CapsuleError('stage1', `app ${app.name}: mount ${m.path}: volume ${JSON.stringify(m.volume)} not found`);
    const src = v.kind === 'host' ? (v.source ?? '') : path.join(e.podDir, POD_FILES.volume(v.name));
    return { src, target: m.path, rec: v.kind === 'host' && v.recursive, ro: v.readOnly || m.readOnly };
  });
  plan.push(['pid-file', path.join(e.podDir, POD_FILES.pid)]);
  const unrestricted = { ...app, capabilities: 'all' as const, seccomp: null, oomScoreAdj: null };
  plan.push(...appPlan(unrestricted, { root, cgroups: [], cgroupfs: 'none', controllers: [], unmaskedPaths: true, tty: true, mounts }));
  const helper = path.join(e.libexecDir, 'capsule-stage1');
  return { plan, root, handover: { cwd: e.podDir, argv: [helper, 'fly', path.join(e.podDir, POD_FILES.plan)], env: {} } };
}
