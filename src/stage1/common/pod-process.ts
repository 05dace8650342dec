import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../../errors/capsule-error.js';
import { POD_FILES } from '../contract.js';

/** The PID stage1 recorded in `ppid` (nspawn) or null when there is none. */
export function readPidFile(podDir: string, name: string = POD_FILES.ppid): number | null {
  try {
    const n = Number(fs.readFileSync(path.join(podDir, name), 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** The pod's init: the only child of nspawn (rkt's `ppid` convention). */
export function podInitPid(podDir: string): number {
  const ppid = readPidFile(podDir);
  if (ppid === null) throw new CapsuleError('pod-not-running', 'the pod has no ppid file yet');
  let children = '';
  try {
    children = fs.readFileSync(`/proc/${ppid}/task/${ppid}/children`, 'utf8').trim();
  } catch {
    throw new CapsuleError('pod-not-running', `the pod's nspawn process ${ppid} is gone`);
  }
  const pids = children.split(/\s+/).filter(Boolean).map(Number);
  if (pids.length !== 1 || pids[0] === undefined) throw new CapsuleError('pod-not-running', `the pod's nspawn process ${ppid} has ${pids.length} children, expected 1`);
  return pids[0];
}

export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}
