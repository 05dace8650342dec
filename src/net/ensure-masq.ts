import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';
import { lockFile } from '../sys/flock.js';
import { iptablesRestore, iptablesStatus } from '../sys/iptables.js';
import { masqJump, masqRestoreInput, type SharedMasq } from './shared-masq.js';

/**
 * One lock for the whole host (iptables is the host's, whatever data or runtime dir a pod uses),
 * taken only when the rules are missing, so two first pods do not both append the jump.
 */
export const MASQ_LOCK = '/run/lock/capsule-masq.lock';

/**
 * Makes the shared masquerade rules unless they exist. The fast path is one `iptables -C` of
 * the POSTROUTING jump (the jump is written last, in the same transaction as the chain, so it
 * being there means the whole set is). Otherwise, under the lock: check again, then one
 * iptables-restore.
 */
export async function ensureSharedMasq(m: SharedMasq, lockPath = MASQ_LOCK): Promise<void> {
  const check = (): Promise<number> => iptablesStatus(['-t', 'nat', '-C', 'POSTROUTING', ...masqJump(m)]);
  if ((await check()) === 0) return;
  fs.mkdirSync(path.dirname(lockPath), { recursive: true, mode: 0o755 });
  const lock = await lockFile(lockPath, 'exclusive', 60);
  if (!lock) throw new CapsuleError('iptables', `timed out waiting for ${lockPath}`);
  try {
    if ((await check()) === 0) return;
    await iptablesRestore(masqRestoreInput(m));
  } finally {
    lock.release();
  }
}
