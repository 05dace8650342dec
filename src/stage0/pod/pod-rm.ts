import { CapsuleError } from '../../errors/capsule-error.js';
import type { Pod } from './pod.js';
import { deletePod, type DeleteHooks, type Stage1Gc } from './pod-delete.js';
import { stateName } from './pod-state.js';

export interface RemoveHooks extends DeleteHooks {
  /** rkt's notes on the way (`moving failed prepare "<uuid>" to garbage`). */
  info(msg: string): void;
}

/**
 * rkt's `rm` of one pod, now: a running, preparing or deleting pod is refused; an aborted or
 * prepared pod goes to garbage/, an exited one to exited-garbage/, then it is deleted (no grace
 * period). The lock is taken first, so the state it decides on cannot change underneath.
 */
export async function removePod(pod: Pod, stage1Gc: Stage1Gc, hooks: RemoveHooks): Promise<void> {
  const got = await pod.lockExclusive(false);
  try {
    if (!pod.refresh()) throw new CapsuleError('pod-not-found', `pod "${pod.uuid}" no longer exists`);
    const state = stateName(pod.state, !got);
    switch (state) {
      case 'running':
        throw new CapsuleError('pod-running', `pod "${pod.uuid}" is currently running`);
      case 'embryo':
      case 'preparing':
        throw new CapsuleError('pod-preparing', `pod "${pod.uuid}" is currently being prepared`);
      case 'deleting':
      case 'exited deleting':
        throw new CapsuleError('pod-deleting', `pod "${pod.uuid}" is currently being deleted`);
      case 'prepared':
        if (!got) throw new CapsuleError('pod-starting', `pod "${pod.uuid}" is currently being started`);
        hooks.info(`moving expired prepared pod "${pod.uuid}" to garbage`);
        pod.toGarbage();
        break;
      case 'aborted prepare':
        hooks.info(`moving failed prepare "${pod.uuid}" to garbage`);
        pod.toGarbage();
        break;
      case 'exited':
        pod.toExitedGarbage();
        break;
      case 'exited garbage':
      case 'garbage':
        break;
    }
    await deletePod(pod, stage1Gc, hooks);
  } finally {
    pod.releaseLock();
  }
}
