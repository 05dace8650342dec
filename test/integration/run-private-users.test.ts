import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines } from '../helpers/cli.js';
import { makePodWorld, podSkipReason, probeFacts, waitFor, type PodWorld } from '../helpers/pods.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping run-private-users tests: ${skip}\n`);

const UNS = ['--private-users', '--no-overlay'];

describe.skipIf(skip !== null)('capsule run --private-users (user namespace, chown-shifted tree)', () => {
  let w: PodWorld;
  beforeAll(async () => {
    w = await makePodWorld('capsule-ap-uns-');
  }, 120_000);
  afterAll(async () => {
    await w?.teardown();
    // gc gave every range back.
    expect(fs.existsSync(path.join(w.dir, 'uid-ranges')) ? fs.readdirSync(path.join(w.dir, 'uid-ranges')) : []).toEqual([]);
  });

  const uidBase = async (uuid: string): Promise<{ uid_base: number; uid_count: number }> => {
    const st = await w.run(['status', '--format=json', uuid]);
    return (JSON.parse(st.stdout) as { private_users: { uid_base: number; uid_count: number } }).private_users;
  };

  it('the app sees its own uid map and its files owned by root; the host sees them shifted; status shows the range', async () => {
    const uuidFile = path.join(w.base, 'map');
    const r = await w.run(['run', '--uuid-file-save', uuidFile, ...UNS, w.busybox, '--exec=/bin/sh', '--', '-c', 'cat /proc/self/uid_map; stat -c "%u:%g" /bin/busybox /etc/passwd']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const uuid = fs.readFileSync(uuidFile, 'utf8').trim();
    const range = await uidBase(uuid);
    expect(range.uid_count).toBe(65536);
    expect(range.uid_base).toBeGreaterThanOrEqual(65536);
    const [map, ...owners] = r.stdout.trim().split('\n');
    expect(map?.trim().split(/\s+/)).toEqual(['0', String(range.uid_base), '65536']);
    expect(owners).toEqual(['0:0', '0:0']);
    const pod = w.pods().find((p) => p.endsWith(uuid)) ?? '';
    const st = fs.statSync(path.join(pod, 'apps/busybox/rootfs/bin/busybox'));
    expect([st.uid, st.gid]).toEqual([range.uid_base, range.uid_base]);
    const list = JSON.parse((await w.run(['list', '--format=json'])).stdout) as Array<{ name: string; private_users?: unknown }>;
    expect(list.find((p) => p.name === uuid)?.private_users).toEqual(range);
  });

  it('root in the pod is not root on the host: what it creates in a host volume is owned by the shifted uid, a root-only file stays closed', async () => {
    const host = fs.mkdtempSync(path.join(w.base, 'vol-'));
    fs.chmodSync(host, 0o777);
    const victim = path.join(host, 'victim');
    fs.writeFileSync(victim, 'secret\n', { mode: 0o600 });
    const uuidFile = path.join(w.base, 'vol');
    const r = await w.run(['run', '--uuid-file-save', uuidFile, ...UNS, `--volume=h,kind=host,source=${host}`, w.busybox, '--mount=volume=h,target=/h', '--exec=/bin/sh', '--', '-c', 'echo made > /h/made; cat /h/victim; echo x >> /h/victim; exit 0']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/can't open '\/h\/victim': Permission denied/);
    expect(r.stdout).not.toContain('secret');
    const base = (await uidBase(fs.readFileSync(uuidFile, 'utf8').trim())).uid_base;
    const made = fs.statSync(path.join(host, 'made'));
    expect([made.uid, made.gid]).toEqual([base, base]);
    expect(fs.readFileSync(victim, 'utf8')).toBe('secret\n');
    expect(fs.statSync(victim).uid).toBe(0);
  });

  it('the per-app isolation holds as without it: uid, bounding set, seccomp, memory cgroup (also on --net=none)', async () => {
    const r = await w.probeRun([...UNS, '--net=none'], ['--user=1000', '--caps-retain=CAP_KILL', '--memory=64Mi'], ['uid', 'capbnd', 'seccomp', 'memory']);
    expect(r.stderr).toBe('');
    expect(probeFacts(r.stdout)).toEqual({ uid: '1000', capbnd: '0000000000000020', seccomp: '2', memory: String(64 * 1024 * 1024) });
  });

  it('enter joins the pod\'s user namespace; two pods at once get disjoint ranges', async () => {
    const files = [path.join(w.base, 'one'), path.join(w.base, 'two')];
    const kids = files.map((f) => w.spawnRun(['run', '--uuid-file-save', f, ...UNS, w.probe, '--exec=/probe', '--', 'sleep', '600']));
    try {
      const uuids: string[] = [];
      for (const f of files) {
        await waitFor('the pod to start', async () => fs.existsSync(f) && (await w.run(['status', '--wait-ready=1s', fs.readFileSync(f, 'utf8').trim()])).code === 0);
        uuids.push(fs.readFileSync(f, 'utf8').trim());
      }
      const ranges = await Promise.all(uuids.map(uidBase));
      const [a, b] = ranges;
      if (!a || !b) throw new Error('no ranges');
      expect(a.uid_base + a.uid_count <= b.uid_base || b.uid_base + b.uid_count <= a.uid_base).toBe(true);
      const e = await w.run(['enter', uuids[0] ?? '', '/bin/sh', '-c', 'cat /proc/self/uid_map; id -u']);
      expect(e.code).toBe(0);
      const [map, uid] = e.stdout.trim().split('\n');
      expect(map?.trim().split(/\s+/)).toEqual(['0', String(a.uid_base), '65536']);
      expect(uid).toBe('0');
      for (const u of uuids) await w.run(['stop', u]);
    } finally {
      for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
      await Promise.all(kids.map((k) => k.exited));
    }
  }, 90_000);

  it('on the default CNI net: the pod has its own address and a sysfs of its own network; prepare reserves a range that rm gives back', async () => {
    const r = await w.run(['prepare', '--quiet', ...UNS, w.busybox, '--exec=/bin/sh', '--', '-c', 'cat /proc/self/uid_map; ls /sys/class/net | sort | tr "\\n" " "; echo; ip -o -4 addr show eth0']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const uuid = r.stdout.trim();
    const holders = (): string[] => {
      const d = path.join(w.dir, 'uid-ranges');
      return fs.existsSync(d) ? fs.readdirSync(d).filter((n) => fs.readFileSync(path.join(d, n), 'utf8').trim() === uuid) : [];
    };
    const base = (await uidBase(uuid)).uid_base;
    expect(holders()).toEqual([String(base)]);
    const rp = await w.run(['run-prepared', uuid]);
    expect(rp.stderr).toBe('');
    expect(rp.code).toBe(0);
    const [map, ifaces, addr] = rp.stdout.trim().split('\n');
    expect(map?.trim().split(/\s+/)).toEqual(['0', String(base), '65536']);
    expect(ifaces?.trim()).toBe('eth0 lo');
    const st = await w.run(['status', uuid]);
    const ip = /networks=default:ip4=([0-9.]+)/.exec(st.stdout)?.[1];
    expect(ip).toBeDefined();
    expect(addr).toContain(`inet ${ip ?? ''}/`);
    expect((await w.run(['rm', uuid])).code).toBe(0);
    expect(holders()).toEqual([]);
  });

  it('refuses what it cannot do, before anything is created', async () => {
    const before = w.pods().length;
    let r = await w.run(['run', '--private-users', w.probe]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual(['run: cannot use both overlay and user namespace: not implemented yet. (Try --no-overlay)']);
    r = await w.run(['run', ...UNS, '--stage1=fly', w.probe]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual(["run: --private-users: the fly flavour runs apps with the caller's own ids, without a user namespace"]);
    expect(w.pods().length).toBe(before);
  });
});
