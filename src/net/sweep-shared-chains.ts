import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';
import { lockFile, type HeldLock } from '../sys/flock.js';
import { iptablesRestore, iptablesRules, IPTABLES } from '../sys/iptables.js';
import { planSharedChainRemoval } from './shared-chains.js';
import { DEFAULT_NET_MASQ, type SharedMasq } from './shared-masq.js';

/**
 * Held shared by every pod while its nets are set up (from before the masquerade check until its
 * ADDs are done: by then the pod's lease and forwarded ports show in the places the sweep looks),
 * exclusively by the sweep. Host-wide, as iptables is: whatever data or runtime dir a pod uses.
 */
export const NET_SETUP_LOCK = '/run/lock/capsule-net-setup.lock';

/** host-local's default store: `<net name>/<address>` per lease, beside `lock` and `last_reserved_ip.N`. */
export const HOST_LOCAL_DIR = '/var/lib/cni/networks';

export async function holdNetSetupLock(lockPath = NET_SETUP_LOCK): Promise<HeldLock> {
  fs.mkdirSync(path.dirname(lockPath), { recursive: true, mode: 0o755 });
  const held = await lockFile(lockPath, 'shared', 60);
  if (!held) throw new CapsuleError('net-setup-lock', `timed out waiting for ${lockPath}`);
  return held;
}

/** Whether host-local holds a lease in `netDir` (a pod on that net exists, or its DEL has not run). */
export function hasLeases(netDir: string): boolean {
  try {
    return fs.readdirSync(netDir).some((n) => n !== 'lock' && !n.startsWith('last_reserved_ip'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

export interface SweepOptions {
  lockPath?: string;
  hostLocalDir?: string;
  masq?: SharedMasq;
  /** The net whose pods the masquerade serves (its host-local directory): the built-in `default`. */
  masqNet?: string;
  /** The nat table as `iptables -t nat -S` prints it, and the restore: the host's by default. */
  natRules?: () => Promise<string>;
  restore?: (input: string) => Promise<void>;
}

export type SweepResult = { removed: string[] } | { busy: true };

/**
 * Removes the shared nat chains no pod uses any more (src/net/shared-chains.ts): the default
 * net's masquerade once host-local holds no lease on that net, portmap's top-level chains once no
 * pod forwards a port. Waits up to 10 s for pods being set up; `busy` when they did not finish
 * (the next gc tries again). Nothing to do on a host without iptables.
 */
export async function sweepSharedChains(o: SweepOptions = {}): Promise<SweepResult> {
  if (o.natRules === undefined && !fs.existsSync(IPTABLES)) return { removed: [] };
  const lockPath = o.lockPath ?? NET_SETUP_LOCK;
  const masq = o.masq ?? DEFAULT_NET_MASQ;
  fs.mkdirSync(path.dirname(lockPath), { recursive: true, mode: 0o755 });
  const lock = await lockFile(lockPath, 'exclusive', 10);
  if (!lock) return { busy: true };
  try {
    const plan = planSharedChainRemoval(await (o.natRules ?? (() => iptablesRules('nat')))(), masq, { masq: hasLeases(path.join(o.hostLocalDir ?? HOST_LOCAL_DIR, o.masqNet ?? 'default')) });
    if (plan === null) return { removed: [] };
    await (o.restore ?? iptablesRestore)(plan.input);
    return { removed: plan.chains };
  } finally {
    lock.release();
  }
}
