import { setTimeout as sleep } from 'node:timers/promises';
import { CapsuleError } from '../../errors/capsule-error.js';
import type { Pod } from './pod.js';
import { lockPod } from './pod-lock.js';
import { podStatus } from './pod-status.js';
import { isAfterRun } from './pod-state.js';

const POLL_MS = 100;

/** Seconds left for flock(1) -w, or true (wait for ever). */
function remaining(deadline: number | null): number | true {
  return deadline === null ? true : Math.max(0, (deadline - Date.now()) / 1000);
}

/** Waits until the pod's lock is free: the pod ended (or its preparation did). false on timeout. */
export async function waitUnlocked(pod: Pod, deadline: number | null): Promise<boolean> {
  const l = await lockPod(pod.runtimeDir, pod.uuid, 'shared', remaining(deadline));
  l?.release();
  return l !== null;
}

/**
 * `status --wait`: until the pod has run and exited (rkt's AfterRun). A running pod is awaited
 * by a blocking shared lock, the kernel's exit notification; a prepared one is polled until it
 * runs. `timeoutMs` null: for ever.
 */
export async function waitExited(pod: Pod, timeoutMs: number | null): Promise<void> {
  const deadline = timeoutMs === null ? null : Date.now() + timeoutMs;
  const timedOut = (): CapsuleError => new CapsuleError('timeout', `timed out waiting for pod "${pod.uuid}" to exit`);
  for (;;) {
    if (!pod.refresh()) throw new CapsuleError('pod-not-found', `pod "${pod.uuid}" no longer exists`);
    const s = await pod.stateName();
    if (isAfterRun(s)) return;
    if (s === 'running' || s === 'preparing') {
      if (!(await waitUnlocked(pod, deadline))) throw timedOut();
      continue;
    }
    if (deadline !== null && Date.now() >= deadline) throw timedOut();
    await sleep(POLL_MS);
  }
}

/** `status --wait-ready`: until every app has started (`status/<app>.started`). */
export async function waitReady(pod: Pod, timeoutMs: number | null): Promise<void> {
  const deadline = timeoutMs === null ? null : Date.now() + timeoutMs;
  for (;;) {
    if (!pod.refresh()) throw new CapsuleError('pod-not-found', `pod "${pod.uuid}" no longer exists`);
    const st = await podStatus(pod);
    if (st.apps.length > 0 && st.apps.every((a) => a.startedAt !== null)) return;
    if (isAfterRun(st.state)) throw new CapsuleError('pod-not-running', `pod "${pod.uuid}" is not running`, { hint: 'it ended before all its apps started' });
    if (deadline !== null && Date.now() >= deadline) throw new CapsuleError('timeout', `timed out waiting for pod "${pod.uuid}" to become ready`);
    await sleep(POLL_MS);
  }
}
