/**
 * Issue 10's points not covered elsewhere: `--net=none` has only loopback, `--net=host` shares the
 * host's namespace, net-info.json in the pod dir beside list/status, a per-net `IP=` arg reaching
 * host-local, and rkt's refusals (a net given twice, an unknown net, args on host or none, host or
 * none mixed with other nets), each one line, exit 254, no pod left.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines } from '../helpers/cli.js';
import { hostIfacesOf, netLeftovers, statusNets } from '../helpers/net.js';
import { leftovers, makePodWorld, podSkipReason, type PodWorld } from '../helpers/pods.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping net-audit tests: ${skip}\n`);

describe.skipIf(skip !== null)('networking: none, host, net-info.json, per-net args, refusals', () => {
  let w: PodWorld;
  beforeAll(async () => {
    w = await makePodWorld('capsule-oc-net-');
  }, 120_000);
  afterAll(async () => {
    await w?.teardown();
  });
  const shell = (podFlags: string[], script: string) => w.run(['run', '--uuid-file-save', path.join(w.base, 'uuid'), ...podFlags, w.busybox, '--exec=/bin/sh', '--', '-c', script]);
  const lastUuid = (): string => fs.readFileSync(path.join(w.base, 'uuid'), 'utf8').trim();
  const podDir = (uuid: string): string => w.pods().find((p) => path.basename(p) === uuid) ?? '';

  it('--net=none: a namespace of its own with only lo', async () => {
    const r = await shell(['--net=none'], 'ls /sys/class/net; readlink /proc/self/ns/net');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, -1)).toEqual(['lo']);
    expect(lines.at(-1)).not.toBe(fs.readlinkSync('/proc/self/ns/net'));
  });

  it('--net=host: the host’s network namespace', async () => {
    const r = await shell(['--net=host'], 'readlink /proc/self/ns/net');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(fs.readlinkSync('/proc/self/ns/net'));
  });

  it('a per-net IP= arg reaches host-local; net-info.json, list and status name the address; nothing left after gc', async () => {
    const want = `172.16.28.${200 + Math.floor(Math.random() * 50)}`;
    const r = await shell([`--net=default:IP=${want}`], 'ip -4 -o addr show eth0');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`inet ${want}/`);
    const uuid = lastUuid();
    const info = JSON.parse(fs.readFileSync(path.join(podDir(uuid), 'net-info.json'), 'utf8')) as unknown;
    expect(JSON.stringify(info)).toContain(want);
    expect(JSON.stringify(info)).toContain('default');
    expect(statusNets((await w.run(['status', uuid])).stdout).default).toBe(want);
    expect((await w.run(['list', '--no-legend', '--full'])).stdout).toContain(`default:ip4=${want}`);
    const ifaces = hostIfacesOf(podDir(uuid));
    expect((await w.run(['gc', '--grace-period=0s'])).code).toBe(0);
    expect(netLeftovers([uuid], ifaces, path.join(w.runtimeDir, 'netns'))).toEqual([]);
    expect(leftovers([uuid])).toEqual([]);
  });

  it('a DEL that fails is reported by gc, which keeps the pod and retries at the next gc', async () => {
    const plugins = path.join(w.base, 'cni-plugins');
    const flag = path.join(w.base, 'del-fails');
    const dels = path.join(w.base, 'dels');
    fs.mkdirSync(plugins, { recursive: true });
    // ADD answers an address; DEL fails while the flag file exists and counts the DELs that worked.
    fs.writeFileSync(
      path.join(plugins, 'capsule-oc-delfail'),
      `#!/bin/sh\ncat >/dev/null\nif [ "$CNI_COMMAND" = ADD ]; then printf '{"cniVersion":"1.0.0","ips":[{"address":"10.98.7.5/24"}]}'; exit 0; fi\nif [ "$CNI_COMMAND" = DEL ] && [ -e ${flag} ]; then printf '{"cniVersion":"1.0.0","code":11,"msg":"cannot delete yet"}'; exit 1; fi\n[ "$CNI_COMMAND" = DEL ] && echo "$CNI_CONTAINERID" >> ${dels}\nexit 0\n`,
      { mode: 0o755 },
    );
    fs.mkdirSync(path.join(w.localConfig, 'paths.d'), { recursive: true });
    fs.writeFileSync(path.join(w.localConfig, 'paths.d', 'cni.json'), JSON.stringify({ capsuleKind: 'paths', capsuleVersion: 'v1', cniPath: plugins }));
    fs.mkdirSync(path.join(w.localConfig, 'net.d'), { recursive: true });
    fs.writeFileSync(path.join(w.localConfig, 'net.d', '10-delfail.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'capsule-oc-delfail', type: 'capsule-oc-delfail' }));
    fs.writeFileSync(flag, '');
    const r = await shell(['--net=capsule-oc-delfail'], 'echo ran');
    process.stderr.write(`net-audit: run with a failing DEL: code ${r.code}: ${r.stderr.trim()}\n`);
    expect(r.stdout).toBe('ran\n');
    const uuid = lastUuid();
    expect(fs.existsSync(dels)).toBe(false);
    const g1 = await w.run(['gc', '--grace-period=0s']);
    process.stderr.write(`net-audit: gc with a failing DEL: code ${g1.code}: ${g1.stderr.trim()}\n`);
    expect(g1.stderr).toContain('cannot delete yet');
    expect(podDir(uuid)).not.toBe('');
    fs.rmSync(flag);
    const g2 = await w.run(['gc', '--grace-period=0s']);
    expect(g2.code, g2.stderr).toBe(0);
    expect(podDir(uuid)).toBe('');
    expect(fs.readFileSync(dels, 'utf8').trim().split('\n')).toContain(uuid);
    expect(leftovers([uuid])).toEqual([]);
  });

  it.each([
    ['a net given twice', ['--net=default,default']],
    ['an unknown net', ['--net=no-such-net-oc']],
    ['args on host', ['--net=host:IP=10.0.0.1']],
    ['args on none', ['--net=none:IP=10.0.0.1']],
    ['host mixed with another net', ['--net=host,default']],
  ])('refuses %s with one line and exit 254, no pod left', async (_what, flags) => {
    const before = w.pods().length;
    const r = await w.run(['run', ...flags, w.busybox, '--exec=/bin/true']);
    expect(r.code).toBe(254);
    expect(errorLines(r), r.stderr).toHaveLength(1);
    expect(errorLines(r)[0]).toMatch(/^run: /);
    process.stderr.write(`net-audit: ${errorLines(r)[0]}\n`);
    expect(w.pods().length).toBe(before);
  });
});
