import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { holdNetSetupLock, sweepSharedChains } from '../../src/net/sweep-shared-chains.js';
import { CAPSULE, makeWorld, type World } from '../helpers/cli.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !fs.existsSync('/usr/sbin/iptables-restore') ? 'needs iptables (apt-get install iptables)' : null;
if (skip) process.stderr.write(`skipping net-shared-sweep tests: ${skip}\n`);

// The shared chains exactly as the first pods on the host made them (portmap's top-level chains,
// Capsule's masquerade), rebuilt in a network namespace of this test's own: the host's nat table,
// which other tests' pods use meanwhile, is never touched.
const made = [
  '*nat',
  ':CAPSULE-MASQ - [0:0]',
  ':CNI-HOSTPORT-DNAT - [0:0]',
  ':CNI-HOSTPORT-MASQ - [0:0]',
  ':CNI-HOSTPORT-SETMARK - [0:0]',
  '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
  '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
  '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
  '-A POSTROUTING -s 172.16.28.0/24 -m comment --comment "capsule: masquerade of the default net" -j CAPSULE-MASQ',
  '-A CAPSULE-MASQ -d 172.16.28.0/24 -j ACCEPT',
  '-A CAPSULE-MASQ ! -d 224.0.0.0/4 -j MASQUERADE',
  '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
  '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
  'COMMIT',
  '',
].join('\n');
const forwarded = ['*nat', ':CNI-DN-lead0test - [0:0]', '-A CNI-HOSTPORT-DNAT -p tcp -m multiport --dports 8080 -j CNI-DN-lead0test', '-A CNI-DN-lead0test -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.16.28.7:80', 'COMMIT', ''].join('\n');

describe.skipIf(skip !== null)('gc removes the shared nat chains no pod uses (real iptables, in a namespace of the test\'s own)', () => {
  const ns = `capsule-lead-sweep-${crypto.randomBytes(3).toString('hex')}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-lead-sweep-'));
  const inNs = (cmd: string, args: string[], input?: string): string => execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  const nat = (): string => inNs('iptables', ['-w', '-t', 'nat', '-S']);
  const shared = (): string[] => nat().split('\n').filter((l) => /CNI-|CAPSULE/.test(l)).sort();
  const leases = path.join(tmp, 'networks');
  const o = { lockPath: path.join(tmp, 'setup.lock'), hostLocalDir: leases, natRules: () => Promise.resolve(nat()), restore: (input: string) => Promise.resolve(void inNs('iptables-restore', ['-w', '--noflush'], input)) };
  let w: World;
  beforeAll(() => {
    w = makeWorld('capsule-lead-sweep-');
  });
  beforeEach(() => {
    // A fresh namespace, so each test starts from an empty nat table.
    spawnSync('ip', ['netns', 'delete', ns]);
    execFileSync('ip', ['netns', 'add', ns]);
    fs.rmSync(leases, { recursive: true, force: true });
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'delete', ns]);
    w?.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('after the last pod: every chain and jump goes, and the nat table is as before the first pod', async () => {
    const before = nat();
    inNs('iptables-restore', ['-w', '--noflush'], made);
    expect(shared()).toHaveLength(12);
    expect(await sweepSharedChains(o)).toEqual({ removed: ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ', 'CAPSULE-MASQ'] });
    expect(nat()).toBe(before);
    expect(await sweepSharedChains(o)).toEqual({ removed: [] });
  });

  it('a lease on the default net keeps the masquerade, a forwarded port keeps portmap\'s chains; both go once they are gone', async () => {
    inNs('iptables-restore', ['-w', '--noflush'], made);
    inNs('iptables-restore', ['-w', '--noflush'], forwarded);
    fs.mkdirSync(path.join(leases, 'default'), { recursive: true });
    for (const f of ['lock', 'last_reserved_ip.0']) fs.writeFileSync(path.join(leases, 'default', f), '');
    fs.writeFileSync(path.join(leases, 'default', '172.16.28.7'), 'c0ffee\neth0');
    const withPod = shared();
    expect(await sweepSharedChains(o)).toEqual({ removed: [] });
    expect(shared()).toEqual(withPod);
    fs.rmSync(path.join(leases, 'default', '172.16.28.7'));
    expect(await sweepSharedChains(o)).toEqual({ removed: ['CAPSULE-MASQ'] });
    inNs('iptables-restore', ['-w', '--noflush'], ['*nat', '-F CNI-HOSTPORT-DNAT', '-F CNI-DN-lead0test', '-X CNI-DN-lead0test', 'COMMIT', ''].join('\n'));
    expect(await sweepSharedChains(o)).toEqual({ removed: ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ'] });
    expect(shared()).toEqual([]);
  });

  it('a pod being set up (the setup lock held shared) keeps everything: the sweep waits, then reports busy', async () => {
    inNs('iptables-restore', ['-w', '--noflush'], made);
    const held = await holdNetSetupLock(o.lockPath);
    try {
      expect(await sweepSharedChains(o)).toEqual({ busy: true });
      expect(shared()).toHaveLength(12);
    } finally {
      held.release();
    }
    expect((await sweepSharedChains(o)) as unknown).toMatchObject({ removed: expect.arrayContaining(['CNI-HOSTPORT-DNAT']) as unknown });
  }, 30_000);

  it('`capsule gc` does it and says so (portmap\'s chains; the masquerade too unless a pod on this host holds a default-net lease)', () => {
    inNs('iptables-restore', ['-w', '--noflush'], made);
    const r = spawnSync('ip', ['netns', 'exec', ns, CAPSULE, ...w.flags, 'gc'], { encoding: 'utf8', env: { ...process.env, CAPSULE_RUNTIME_DIR: w.runtimeDir } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^gc: removed shared iptables chains no pod uses: CNI-HOSTPORT-DNAT, CNI-HOSTPORT-SETMARK, CNI-HOSTPORT-MASQ/m);
    expect(shared().filter((l) => l.includes('CNI-HOSTPORT'))).toEqual([]);
  });
});
