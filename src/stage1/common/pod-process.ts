import path from 'node:path';
import { CapsuleError } from '../../errors/capsule-error.js';
import { onlyChildOf, readPidFile } from '../../sys/proc.js';
import { POD_FILES } from '../contract.js';

/** The PID stage1 recorded in `ppid` (nspawn) or `pid` (fly), or null when there is none. */
export function readPodPid(podDir: string, name: string = POD_FILES.ppid): number | null {
  return readPidFile(path.join(podDir, name));
}

/** The pod's init: the only child of nspawn (rkt's `ppid` convention). */
export function podInitPid(podDir: string): number {
  const ppid = readPodPid(podDir);
  if (ppid === null) throw new CapsuleError('pod-not-running', 'the pod has no ppid file yet');
  const init = onlyChildOf(ppid);
  if (init === null) throw new CapsuleError('pod-not-running', `the pod's nspawn process ${ppid} is gone or has no single child`);
  return init;
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}
