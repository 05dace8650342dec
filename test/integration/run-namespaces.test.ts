import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { CAPSULE, errorLines } from '../helpers/cli.js';
import { podSkipReason, type PodWorld, usePodWorld } from '../helpers/pods.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping run-namespaces tests: ${skip}\n`);

const hostNs = (kind: string): string => fs.readlinkSync(`/proc/self/ns/${kind}`);

describe.skipIf(skip !== null)('pod namespaces, networks and the fly flavour', () => {
  let w: PodWorld;
  usePodWorld((x) => (w = x));

  const shell = async (podFlags: string[], script: string): Promise<string> => {
    const r = await w.run(['run', ...podFlags, w.busybox, '--exec=/bin/sh', '--', '-c', script]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  };

  it('--net=host shares the host network namespace; --net=none has only loopback; the default net adds eth0', async () => {
    expect((await shell(['--net=host'], 'readlink /proc/self/ns/net')).trim()).toBe(hostNs('net'));
    for (const [flags, want] of [[['--net=none'], ['lo']], [[], ['eth0', 'lo']]] as const) {
      const out = await shell([...flags], 'readlink /proc/self/ns/net; ls /sys/class/net');
      const [ns, ...ifaces] = out.trim().split(/\s+/);
      expect(ns).not.toBe(hostNs('net'));
      expect(ifaces).toEqual(want);
    }
  });

  it("bad --net values are refused with rkt's messages, before anything runs", async () => {
    const before = w.pods().length;
    for (const [net, msg] of [
      ['default,default', /^run: found duplicate netname "default"$/],
      ['host:IP=1.2.3.4', /^run: --net: the network "host" takes no arguments$/],
      ['host,default', /^run: --net=host cannot be combined with other networks$/],
    ] as const) {
      const r = await w.run(['run', `--net=${net}`, w.busybox, '--exec=/bin/true']);
      expect(r.code).toBe(254);
      expect(errorLines(r)).toEqual([expect.stringMatching(msg)]);
    }
    expect(w.pods().length).toBe(before);
    const uuid = (await w.run(['prepare', w.busybox, '--exec=/bin/true'])).stdout.trim();
    const rp = await w.run(['run-prepared', '--net=none,none', uuid]);
    expect(rp.code).toBe(254);
    expect((await w.run(['status', uuid])).stdout).toMatch(/^state=prepared$/m);
  });

  it('--ipc=parent shares the host IPC namespace; by default the pod has its own', async () => {
    expect((await shell(['--ipc=parent'], 'readlink /proc/self/ns/ipc')).trim()).toBe(hostNs('ipc'));
    expect((await shell([], 'readlink /proc/self/ns/ipc')).trim()).not.toBe(hostNs('ipc'));
  });

  it('the pod has its own PID and UTS namespaces; its init is PID 1', async () => {
    const out = await shell(['--hostname=pod-a'], 'readlink /proc/self/ns/pid; hostname; cat /proc/1/cmdline | tr "\\0" " "');
    const [pidNs, hostname, init] = out.trim().split('\n');
    expect(pidNs).not.toBe(hostNs('pid'));
    expect(hostname).toBe('pod-a');
    expect(init).toMatch(/^\/capsule\/init init/);
  });

  it('fly: one app in a chroot with the host namespaces, as the process capsule run started', async () => {
    const out = await shell(['--stage1=fly'], 'readlink /proc/self/ns/pid; readlink /proc/self/ns/net; hostname; ls /');
    const [pidNs, netNs, hostname, ...root] = out.trim().split('\n');
    expect(pidNs).toBe(hostNs('pid'));
    expect(netNs).toBe(hostNs('net'));
    expect(hostname).toBe(os.hostname());
    expect(root).toContain('bin');
    expect(root).not.toContain('work');
    const code = await w.run(['run', '--stage1=fly', w.busybox, '--exec=/bin/sh', '--', '-c', 'exit 6']);
    expect(code.code).toBe(6);
  });

  it('fly refuses pods of more than one app', async () => {
    const r = await w.run(['run', '--stage1=fly', w.busybox, '--name=a', '---', w.busybox, '--name=b']);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual([expect.stringMatching(/fly flavour runs exactly one app, this pod has 2/)]);
  });

  it('--interactive gives the app the terminal: it reads what is typed and its code passes through', () => {
    const q = (x: string): string => `'${x.replace(/'/g, `'\\''`)}'`;
    const cmd = [CAPSULE, ...w.flags, 'run', '--interactive', w.busybox, '--exec=/bin/sh'].map(q).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { input: 'tty; echo from-$((40+2)); exit 4\n', encoding: 'utf8', env: { ...process.env, CAPSULE_RUNTIME_DIR: w.runtimeDir }, timeout: 30_000 });
    expect(r.status).toBe(4);
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r?$/m);
    expect(r.stdout).toMatch(/^from-42\r?$/m);
  });

  it('--interactive needs exactly one app', async () => {
    const r = await w.run(['run', '--interactive', w.busybox, '--name=a', '---', w.busybox, '--name=b']);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual(['run: interactive option only supports one image']);
  });
});
