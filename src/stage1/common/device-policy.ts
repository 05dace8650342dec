import path from 'node:path';
import type { CgroupHost } from './cgroups.js';

/**
 * Who enforces the pod's device allow-list:
 * - `cgroup-v1`: Capsule's pod cgroup in the devices hierarchy (the helper, nspawn, the init,
 *   every app, `enter`, and every process they start are in it);
 * - `nspawn`: nspawn's own DeviceAllow= on the scope it has machined make (systemd is PID 1 and
 *   the pod is not kept in the caller's unit) — the same set plus /dev/net/tun;
 * - `lifted`: --insecure-options=paths;
 * - `none`: nothing can enforce one here; `why` is the warning the user gets.
 */
export type DevicePolicy = { kind: 'cgroup-v1' } | { kind: 'nspawn' } | { kind: 'lifted' } | { kind: 'none'; why: string };

export interface DevicePolicyFacts {
  /** --insecure-options=paths. */
  lifted: boolean;
  /** nspawn registers with machined and makes its own scope (systemd PID 1, no --keep-unit). */
  nspawnScope: boolean;
  /** Tests a directory for writing (access W_OK, which also sees a read-only mount). */
  writable: (dir: string) => boolean;
}

/** Decides who enforces the allow-list (pure; `writable` is the caller's probe). */
export function chooseDevicePolicy(host: CgroupHost, f: DevicePolicyFacts): DevicePolicy {
  if (f.lifted) return { kind: 'lifted' };
  if (host.version === 'v1' && host.devices !== undefined) {
    const hierarchy = path.join(host.root, host.devices);
    const own = path.join(hierarchy, host.own[host.devices] ?? '/');
    if (f.writable(own)) return { kind: 'cgroup-v1' };
    if (f.nspawnScope) return { kind: 'nspawn' };
    return { kind: 'none', why: `the devices hierarchy ${own} is not writable (as in a container whose manager does not delegate it)` };
  }
  if (f.nspawnScope) return { kind: 'nspawn' };
  if (host.version === 'v2') return { kind: 'none', why: 'on cgroup v2 Capsule\'s own device program (BPF) is not built yet, and nspawn makes no scope of its own here (no systemd as PID 1, or the pod stays in the caller\'s unit)' };
  return { kind: 'none', why: `the host has no devices controller hierarchy under ${host.root}` };
}

/** The one-line warning for a pod that runs without an allow-list. */
export const noDevicePolicyWarning = (uuid: string, why: string): string =>
  `no device allow-list for pod ${uuid}: ${why}; device nodes its apps make (with CAP_MKNOD) or find in volumes can be opened (docs/security.md)`;
