import path from 'node:path';

/**
 * The devices every pod may make and open (nspawn's and rkt's standard set, issue 12 §1): a node
 * an app makes with CAP_MKNOD, or finds in a host volume, for any other device cannot be opened
 * (EPERM), whatever its path. `fuse` (10:229) is not in the set: no option gives a pod /dev/fuse
 * yet. nspawn's own set also has /dev/net/tun; Capsule's does not (no pod gets one).
 */
export interface DeviceRule {
  /** What the rule is for, in messages and docs. */
  name: string;
  type: 'c';
  major: number;
  /** '*': every minor of the major (the pts range). */
  minor: number | '*';
  access: 'rwm';
}

export const POD_DEVICES: readonly DeviceRule[] = [
  { name: 'null', type: 'c', major: 1, minor: 3, access: 'rwm' },
  { name: 'zero', type: 'c', major: 1, minor: 5, access: 'rwm' },
  { name: 'full', type: 'c', major: 1, minor: 7, access: 'rwm' },
  { name: 'random', type: 'c', major: 1, minor: 8, access: 'rwm' },
  { name: 'urandom', type: 'c', major: 1, minor: 9, access: 'rwm' },
  { name: 'tty', type: 'c', major: 5, minor: 0, access: 'rwm' },
  { name: 'console', type: 'c', major: 5, minor: 1, access: 'rwm' },
  { name: 'ptmx', type: 'c', major: 5, minor: 2, access: 'rwm' },
  { name: 'pts/*', type: 'c', major: 136, minor: '*', access: 'rwm' },
];

/** `c 1:3 rwm`: the devices controller's (v1) rule syntax. */
export const v1Rule = (r: DeviceRule): string => `${r.type} ${r.major}:${r.minor} ${r.access}`;

/**
 * v1: what makes a fresh pod cgroup in the devices hierarchy allow exactly POD_DEVICES. The deny
 * comes first (a fresh cgroup inherits the parent's list, often `a *:* rwm`); a v1 child can never
 * be given more than its parent, so a narrower parent (a unit's DevicePolicy=) narrows the pod too.
 */
export function v1DeviceWrites(podCgroup: string): Array<{ path: string; value: string }> {
  return [{ path: path.join(podCgroup, 'devices.deny'), value: 'a' }, ...POD_DEVICES.map((r) => ({ path: path.join(podCgroup, 'devices.allow'), value: v1Rule(r) }))];
}
