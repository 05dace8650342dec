import { describe, expect, it } from 'vitest';
import { planPodCgroups, type CgroupHost } from '../../../src/stage1/common/cgroups.js';
import { POD_DEVICES, v1DeviceWrites, v1Rule } from '../../../src/stage1/common/device-allow.js';
import { chooseDevicePolicy, noDevicePolicyWarning } from '../../../src/stage1/common/device-policy.js';

const UUID = '0c8b4c8e-6a3e-4f5c-9d2e-1234567890ab';
const v1: CgroupHost = { version: 'v1', root: '/sys/fs/cgroup', devices: 'devices', tracking: ['systemd'], own: { devices: '/d', systemd: '/s' } };
const v1NoDevices: CgroupHost = { version: 'v1', root: '/sys/fs/cgroup', tracking: ['systemd'], own: { systemd: '/s' } };
const v2: CgroupHost = { version: 'v2', root: '/sys/fs/cgroup', tracking: [], own: { '': '/' } };
const yes = (): boolean => true;
const no = (): boolean => false;

describe('the pod device allow-list', () => {
  it('is the standard set in the devices controller syntax, denied first', () => {
    expect(POD_DEVICES.map(v1Rule)).toEqual(['c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm', 'c 5:1 rwm', 'c 5:2 rwm', 'c 136:* rwm']);
    const w = v1DeviceWrites('/cg/pod');
    expect(w[0]).toEqual({ path: '/cg/pod/devices.deny', value: 'a' });
    expect(w.slice(1).every((x) => x.path === '/cg/pod/devices.allow')).toBe(true);
    expect(w.some((x) => /10:229|10:237|10:200|^b /.test(x.value))).toBe(false);
  });

  it('v1: one pod cgroup under the caller in the devices hierarchy, joined, recorded for gc, no per-app ones', () => {
    const p = planPodCgroups(v1, UUID, [], { devices: true });
    const dir = `/sys/fs/cgroup/devices/d/capsule-${UUID}`;
    expect(p.mkdirs).toContain(dir);
    expect(p.join).toContain(dir);
    expect(p.podCgroups).toContain(dir);
    expect(p.writes).toEqual(v1DeviceWrites(dir));
    expect(planPodCgroups(v1, UUID, []).mkdirs.some((d) => d.includes('/devices/'))).toBe(false);
  });

  it.each<[string, CgroupHost, { lifted?: boolean; nspawnScope?: boolean; writable?: (d: string) => boolean }, string]>([
    ['v1, writable: Capsule\'s cgroup', v1, {}, 'cgroup-v1'],
    ['v1, writable, nspawn makes a scope too: Capsule\'s cgroup still', v1, { nspawnScope: true }, 'cgroup-v1'],
    ['--insecure-options=paths', v1, { lifted: true }, 'lifted'],
    ['v1, read-only hierarchy, nspawn makes a scope: nspawn\'s', v1, { writable: no, nspawnScope: true }, 'nspawn'],
    ['v1, read-only hierarchy (a container): none', v1, { writable: no }, 'none'],
    ['v1 without a devices hierarchy: none', v1NoDevices, {}, 'none'],
    ['v2, nspawn makes a scope: nspawn\'s', v2, { nspawnScope: true }, 'nspawn'],
    ['v2 otherwise: none (not yet)', v2, {}, 'none'],
  ])('%s', (_what, host, f, kind) => {
    expect(chooseDevicePolicy(host, { lifted: f.lifted ?? false, nspawnScope: f.nspawnScope ?? false, writable: f.writable ?? yes }).kind).toBe(kind);
  });

  it('says why there is none, in one line', () => {
    const p = chooseDevicePolicy(v1, { lifted: false, nspawnScope: false, writable: (d) => d !== '/sys/fs/cgroup/devices/d' });
    expect(p).toEqual({ kind: 'none', why: 'the devices hierarchy /sys/fs/cgroup/devices/d is not writable (as in a container whose manager does not delegate it)' });
    const v2none = chooseDevicePolicy(v2, { lifted: false, nspawnScope: false, writable: yes });
    expect(v2none.kind === 'none' && noDevicePolicyWarning(UUID, v2none.why)).toMatch(/^no device allow-list for pod 0c8b.*: on cgroup v2 .*not built yet.*can be opened \(docs\/security.md\)$/);
  });
});
