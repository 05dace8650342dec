import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../../errors/capsule-error.js';
import { encodePlan } from '../common/plan-file.js';
import { readPodPid, signal } from '../common/pod-process.js';
import { POD_FILES, STAGE1_INTERFACE_VERSION, type Stage1 } from '../contract.js';
import { checkFly, planFly } from './fly-plan.js';

export const flyStage1: Stage1 = {
  flavour: 'fly',
  interfaceVersion: STAGE1_INTERFACE_VERSION,

  check(o, appCount) {
    checkFly(appCount, o.net);
  },

  run(e, pod) {
    const { plan, root, handover } = planFly(e, pod);
    fs.mkdirSync(root, { recursive: true });
    fs.mkdirSync(path.join(e.podDir, POD_FILES.stage1Dir), { recursive: true });
    fs.writeFileSync(path.join(e.podDir, POD_FILES.plan), encodePlan(plan));
    return Promise.resolve(handover);
  },

  enter() {
    return Promise.reject(new CapsuleError('enter', 'the fly flavour has no isolation to enter', { hint: 'use nsenter or chroot on the host' }));
  },

  stop(e, _pod, force) {
    const pid = readPodPid(e.podDir, POD_FILES.pid);
    if (pid !== null) signal(pid, force ? 'SIGKILL' : 'SIGTERM');
    return Promise.resolve();
  },

  gc() {
    return Promise.resolve();
  },
};
