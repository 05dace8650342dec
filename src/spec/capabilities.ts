import { CapsuleError } from '../errors/capsule-error.js';

/** Linux capabilities by number (include/uapi/linux/capability.h, 0..CAP_LAST_CAP = 40). */
export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', // 0
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL', // 5
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE', // 10
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', // 15
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', // 20
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', // 25
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL', // 30
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM', // 35
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE', // 40
];

const NUMBERS: ReadonlyMap<string, number> = new Map(CAPABILITIES.map((c, i) => [c, i]));

/**
 * The bounding set an app gets when no capability isolator says otherwise: rkt's (and the appc
 * spec's) 14 defaults, in rkt's order.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_AUDIT_WRITE',
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_KILL',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETUID',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETFCAP',
  'CAP_SYS_CHROOT',
];

export function capabilityNumber(name: string): number | undefined {
  return NUMBERS.get(name);
}

/** `CAP_NET_ADMIN`, `cap_net_admin` and `NET_ADMIN` all name CAP_NET_ADMIN; anything else is an error naming it. */
export function parseCapability(s: string): string {
  const t = s.trim();
  if (t === '') throw new CapsuleError('invalid-capability', 'empty capability name');
  const upper = t.toUpperCase();
  const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!NUMBERS.has(name)) throw new CapsuleError('invalid-capability', `unknown capability ${JSON.stringify(t)}`);
  return name;
}

/** Canonical names, duplicates dropped, first occurrence order kept. */
export function parseCapabilityList(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    const c = parseCapability(n);
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

/** Sorted by capability number (a stable order for plans and tests). */
export function sortCapabilities(names: readonly string[]): string[] {
  return [...names].sort((a, b) => (NUMBERS.get(a) ?? 0) - (NUMBERS.get(b) ?? 0));
}

/** The bitmask of `names` as lowercase hex (`0` for none); names must be canonical `CAP_*`. */
export function capabilityMask(names: readonly string[]): string {
  let mask = 0n;
  for (const n of names) {
    const bit = NUMBERS.get(n);
    if (bit === undefined) throw new CapsuleError('invalid-capability', `unknown capability ${JSON.stringify(n)}`);
    mask |= 1n << BigInt(bit);
  }
  return mask.toString(16);
}
