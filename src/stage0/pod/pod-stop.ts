import { CapsuleError } from '../../errors/capsule-error.js';
import type { PodRuntime } from '../../stage1/contract.js';
import { readPodRuntime, type Pod } from './pod.js';
import { isAfterRun } from './pod-state.js';
import { waitUnlocked } from './pod-wait.js';

/** The flavour's stop entrypoint; handed in by the CLI. */
export type Stage1Stop = (podDir: string, runtime: PodRuntime, force: boolean) => Promise<void>;

/**
 * Stops a running pod through its flavour and waits (up to `waitMs`) until its lock is free, so
 * that returning means the pod has ended. 'already-stopped' for pods that ran and exited.
 */
export async function stopPod(pod: Pod, stop: Stage1Stop, force: boolean, waitMs: number): Promise<'stopped' | 'already-stopped'> {
  const s = await pod.stateName();
  if (isAfterRun(s)) return 'already-stopped';
  if (s !== 'running') throw new CapsuleError('pod-not-running', `pod "${pod.uuid}" is not running`);
  const runtime = readPodRuntime(pod);
  await stop(pod.dir, runtime, force);
  if (!(await waitUnlocked(pod, Date.now() + waitMs))) {
    throw new CapsuleError('stop-timeout', `pod "${pod.uuid}" is still running ${Math.round(waitMs / 1000)}s after being told to stop`, { hint: force ? undefined : 'try --force' });
  }
  return 'stopped';
}
