import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines } from '../helpers/cli.js';
import { hostAddress, hostIfacesOf, netLeftovers, statusNets } from '../helpers/net.js';
import { leftovers, makePodWorld, podSkipReason, startPod, waitFor, type PodWorld } from '../helpers/pods.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping net-default tests: ${skip}\n`);

/** GET from the host, retried while the pod's server is still starting (it has exec'd, maybe not listened yet). */
async function httpGet(url: string): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
      return await r.text();
    } catch (e) {
      last = e;
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  throw new Error(`GET ${url}: ${String(last)}`);
}

/** A random high port, unlikely to be taken (the run itself refuses a port in use). */
const freePort = (): number => 20000 + Math.floor(Math.random() * 20000);

describe.skipIf(skip !== null)('networking: the default nets, ports, DNS, teardown', () => {
  let w: PodWorld;
  const netnsDir = (): string => path.join(w.runtimeDir, 'netns');
  beforeAll(async () => {
    w = await makePodWorld('capsule-net-');
  }, 120_000);
  afterAll(async () => {
    await w?.teardown();
  });

  const podDir = (uuid: string): string => w.pods().find((p) => path.basename(p) === uuid) ?? '';
  const shell = async (podFlags: string[], script: string) => w.run(['run', ...podFlags, w.busybox, '--exec=/bin/sh', '--', '-c', script]);
  const httpd = (extra: string[] = []) => [...extra, w.busybox, '--exec=/bin/sh', '--', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www'];
  const gcAll = async (): Promise<void> => {
    const r = await w.run(['gc', '--grace-period=0s']);
    expect(r.code).toBe(0);
  };

  it('two pods on the default net reach each other; a pod reaches the host at its gateway; nothing is left after stop and gc', async () => {
    const a = await startPod(w, httpd());
    const st = await w.run(['status', a.uuid]);
    const ip = statusNets(st.stdout).default ?? '';
    expect(ip).toMatch(/^172\.16\.28\.\d+$/);
    const ifaces = hostIfacesOf(podDir(a.uuid));
    expect(ifaces.length).toBe(1);
    // busybox's static wget cannot resolve without NSS modules: nc speaks HTTP by hand.
    const b = await shell([], `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${ip} 80 && ip route | grep default && ping -c1 -W2 172.16.28.1 >/dev/null && echo gateway-ok`);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain(`capsule-${a.uuid}`);
    expect(b.stdout).toMatch(/^default via 172\.16\.28\.1/m);
    expect(b.stdout).toContain('gateway-ok');
    const list = await w.run(['list', '--no-legend', '--full']);
    expect(list.stdout).toContain(`default:ip4=${ip}`);
    const json = JSON.parse((await w.run(['status', '--format=json', a.uuid])).stdout) as { networks?: Array<Record<string, unknown>> };
    expect(json.networks?.[0]).toMatchObject({ net_name: 'default', ip, if_name: 'eth0' });
    // Masquerade through the shared CAPSULE-MASQ chain (made by the first pod, kept), not a
    // per-pod chain of ptp's; no portmap rules without --port: no iptables line names the pod.
    const nat = execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' }).split('\n');
    expect(nat.filter((l) => l.startsWith('-A POSTROUTING ') && l.includes('-j CAPSULE-MASQ'))).toEqual(['-A POSTROUTING -s 172.16.28.0/24 -m comment --comment "capsule: masquerade of the default net" -j CAPSULE-MASQ']);
    expect(nat.filter((l) => l.startsWith('-A CAPSULE-MASQ '))).toEqual(['-A CAPSULE-MASQ -d 172.16.28.0/24 -j ACCEPT', '-A CAPSULE-MASQ ! -d 224.0.0.0/4 -j MASQUERADE']);
    expect(nat.filter((l) => l.includes(a.uuid))).toEqual([]);
    expect((await w.run(['stop', a.uuid])).code).toBe(0);
    await a.child.exited;
    await gcAll();
    expect(netLeftovers([a.uuid], ifaces, netnsDir())).toEqual([]);
    expect(leftovers([a.uuid])).toEqual([]);
  });

  it('a pod that exits is torn down by its helper already; gc finds nothing left to do', async () => {
    const r = await shell(['--uuid-file-save', path.join(w.base, 'exit-uuid')], 'true');
    expect(r.code).toBe(0);
    const uuid = execFileSync('cat', [path.join(w.base, 'exit-uuid')], { encoding: 'utf8' }).trim();
    // The helper's teardown runs detached; wait for it, not for gc.
    await waitFor('the exit-time teardown', () => netLeftovers([uuid], [], netnsDir()).length === 0);
    await gcAll();
    expect(netLeftovers([uuid], [], netnsDir())).toEqual([]);
  });

  it('default-restricted: no default route, reachable from the host', async () => {
    const a = await startPod(w, ['--net=default-restricted', ...httpd()]);
    const ip = statusNets((await w.run(['status', a.uuid])).stdout)['default-restricted'] ?? '';
    expect(ip).toMatch(/^172\.31\.\d+\.\d+$/);
    expect(await httpGet(`http://${ip}/`)).toContain(`capsule-${a.uuid}`);
    const ifaces = hostIfacesOf(podDir(a.uuid));
    expect((await w.run(['stop', a.uuid])).code).toBe(0);
    await a.child.exited;
    const r = await shell(['--net=default-restricted'], 'ip route');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/^default/m);
    await gcAll();
    expect(netLeftovers([a.uuid], ifaces, netnsDir())).toEqual([]);
  });

  it('--port forwards a host port: served from 127.0.0.1 and from the host address; a port in use fails the run', async () => {
    const port = freePort();
    const a = await startPod(w, ['--port', `http:${port}`, ...httpd()]);
    expect(await httpGet(`http://127.0.0.1:${port}/`)).toContain(`capsule-${a.uuid}`);
    const addr = hostAddress();
    if (addr) expect(await httpGet(`http://${addr}:${port}/`)).toContain(`capsule-${a.uuid}`);
    const again = await shell(['--port', `http:${port}`], 'true');
    expect(again.code).toBe(254);
    expect(errorLines(again)).toEqual([`run: host port ${port}/tcp is already forwarded to another pod`]);
    const ifaces = hostIfacesOf(podDir(a.uuid));
    expect((await w.run(['stop', a.uuid])).code).toBe(0);
    await a.child.exited;
    await gcAll();
    expect(netLeftovers([a.uuid], ifaces, netnsDir())).toEqual([]);
    expect(execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' })).not.toContain(`--dport ${port} `);
  });

  it('--port is refused with host and none networking and for unknown port names', async () => {
    for (const [flags, msg] of [
      [['--net=host', '--port=http:8080'], "run: --port flag does not work with 'host' networking"],
      [['--net=none', '--port=http:8080'], "run: --port flag does not work with 'none' networking"],
      [['--port=nope:8080'], 'run: port name "nope" is not exposed by any app of the pod'],
      [['--port=http:99999'], 'run: invalid --port "http:99999": host port "99999" is not in 1-65535'],
    ] as const) {
      const r = await shell([...flags], 'true');
      expect(r.code).toBe(254);
      expect(errorLines(r)).toEqual([msg]);
    }
  });

  it('--dns* write the pod resolv.conf; --hosts-entry adds lines; /etc/hosts always names the pod', async () => {
    const r = await shell(['--dns=192.0.2.53,192.0.2.54', '--dns-search=example.com', '--dns-search=example.org', '--dns-opt=ndots:2', '--dns-domain=example.net', '--hosts-entry=198.51.100.7=db.example', '--hostname=pod-dns'], 'cat /etc/resolv.conf; echo ---; cat /etc/hosts');
    expect(r.code).toBe(0);
    const [resolv, hosts] = r.stdout.split('---\n');
    expect(resolv).toBe('# Generated by capsule run\nsearch example.com example.org\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions ndots:2\ndomain example.net\n');
    expect(hosts).toMatch(/^127\.0\.0\.1\tlocalhost .* pod-dns$/m);
    expect(hosts).toMatch(/^172\.16\.28\.\d+\tpod-dns$/m);
    expect(hosts).toMatch(/^198\.51\.100\.7\tdb\.example$/m);
    const host = await shell(['--dns=host', '--hosts-entry=host'], 'cat /etc/resolv.conf; echo ---; cat /etc/hosts');
    expect(host.stdout).toBe(`${execFileSync('cat', ['/etc/resolv.conf'], { encoding: 'utf8' })}---\n${execFileSync('cat', ['/etc/hosts'], { encoding: 'utf8' })}`);
    for (const [flags, msg] of [
      [['--dns=host', '--dns=1.2.3.4'], 'run: no other --dns options allowed when --dns=host is passed'],
      [['--dns=none', '--dns-search=x'], 'run: no other --dns options allowed when --dns=none is passed'],
      [['--dns=1.2.3'], 'run: Invalid IP passed to --dns: 1.2.3'],
      [['--hosts-entry=host', '--hosts-entry=1.2.3.4=a'], 'run: no other --hosts-entry options allowed when --hosts-entry=host is passed'],
    ] as const) {
      const bad = await shell([...flags], 'true');
      expect(bad.code).toBe(254);
      expect(errorLines(bad)).toEqual([msg]);
    }
  });

  it('SIGKILL of capsule run and the whole pod, then gc: DEL from the cached results, nothing left', async () => {
    const a = await startPod(w, [w.busybox, '--exec=/bin/sleep', '--', '600']);
    const dir = podDir(a.uuid);
    const ifaces = hostIfacesOf(dir);
    expect(ifaces.length).toBe(1);
    const ppid = Number(execFileSync('cat', [path.join(dir, 'ppid')], { encoding: 'utf8' }).trim());
    a.child.kill('SIGKILL');
    process.kill(ppid, 'SIGKILL');
    process.kill(a.initPid, 'SIGKILL');
    await a.child.exited;
    await waitFor('the pod to end', async () => /^state=exited$/m.test((await w.run(['status', a.uuid])).stdout));
    await gcAll();
    expect(netLeftovers([a.uuid], ifaces, netnsDir())).toEqual([]);
    expect(leftovers([a.uuid])).toEqual([]);
  });
});
