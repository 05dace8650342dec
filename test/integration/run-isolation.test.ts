import { describe, expect, it } from 'vitest';
import { errorLines } from '../helpers/cli.js';
import { podSkipReason, probeFacts, type PodWorld, usePodWorld } from '../helpers/pods.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping run-isolation tests: ${skip}\n`);

/** rkt's default bounding set of 14 capabilities, as /proc/self/status prints it. */
const DEFAULT_CAPBND = '00000000a80425fb';

describe.skipIf(skip !== null)('capsule run: every isolator as the app sees it (probe image)', () => {
  let w: PodWorld;
  usePodWorld((x) => (w = x));

  const facts = async (podFlags: string[], appFlags: string[], keys: string[] = ['all']): Promise<Record<string, string>> => {
    const r = await w.probeRun(podFlags, appFlags, keys);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return probeFacts(r.stdout);
  };

  it('defaults: root, rkt default capabilities, a seccomp filter, no_new_privs off, capsule-<uuid> hostname', async () => {
    const f = await facts([], [], ['all']);
    expect(f).toMatchObject({ uid: '0', gid: '0', capbnd: DEFAULT_CAPBND, seccomp: '2', nonewprivs: '0', cwd: '/', 'rootfs-ro': 'false' });
    expect(f.hostname).toMatch(/^capsule-[0-9a-f-]{36}$/);
  });

  it.each([
    [['--caps-retain=CAP_CHOWN,CAP_NET_ADMIN'], '0000000000001001'],
    [['--caps-remove=CAP_CHOWN'], '00000000a80425fa'],
  ])('%j sets the bounding set to %s', async (flags, want) => {
    expect((await facts([], flags, ['capbnd'])).capbnd).toBe(want);
  });

  it('--insecure-options=capabilities leaves the bounding set unrestricted', async () => {
    const r = await w.run(['--insecure-options=capabilities', 'run', w.probe, '--exec=/probe', '--', 'capbnd']);
    expect(r.code).toBe(0);
    const mask = BigInt(`0x${probeFacts(r.stdout).capbnd ?? '0'}`);
    expect(mask & (1n << 21n)).toBe(1n << 21n); // CAP_SYS_ADMIN
  });

  it('--user/--group by number and by name from the image, with supplementary groups', async () => {
    expect(await facts([], ['--user=1000', '--group=100', '--supplementary-gids=10,20'], ['uid', 'gid', 'groups', 'capeff'])).toMatchObject({ uid: '1000', gid: '100', groups: '100,10,20', capeff: '0000000000000000' });
    expect(await facts([], ['--user=capsule-user', '--group=users'], ['uid', 'gid'])).toEqual({ uid: '1000', gid: '100' });
  });

  it('an unknown user name is refused before anything runs', async () => {
    const r = await w.probeRun([], ['--user=nosuchuser'], ['uid']);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual([expect.stringMatching(/^run: .*"nosuchuser" user not found/)]);
  });

  it('--working-dir, --readonly-rootfs and --oom-score-adj', async () => {
    expect(await facts([], ['--working-dir=/tmp', '--readonly-rootfs', '--oom-score-adj=500'], ['cwd', 'rootfs-ro', 'oom'])).toEqual({ cwd: '/tmp', 'rootfs-ro': 'true', oom: '500' });
  });

  it('--memory limits the app cgroup (Kubernetes quantities); exceeding it kills the app (exit 137)', async () => {
    expect((await facts([], ['--memory=64Mi'], ['memory'])).memory).toBe(String(64 * 1024 * 1024));
    expect((await facts([], ['--memory=64M'], ['memory'])).memory).toBe('64000000');
    const r = await w.probeRun([], ['--memory=32M'], ['eat-memory', '64']);
    expect(r.code).toBe(137);
  });

  it('--cpu sets the CFS quota and --cpu-shares the weight', async () => {
    const cpu = (await facts([], ['--cpu=500m'], ['cpu'])).cpu;
    expect(['50000', '50000/100000']).toContain(cpu);
  });

  it('--seccomp remove-set with errno makes the listed calls fail with that errno', async () => {
    const r = await w.run(['run', w.probe, '--seccomp=mode=remove,errno=ENOTSUP,mkdir,mkdirat', '--exec=/bin/mkdir', '--', '/tmp/x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not supported/i);
  });

  it('--insecure-options=seccomp runs the app without any filter', async () => {
    const r = await w.run(['--insecure-options=seccomp', 'run', w.probe, '--exec=/probe', '--', 'seccomp']);
    expect(probeFacts(r.stdout).seccomp).toBe('0');
  });

  it('kernel paths: /proc/kallsyms and /proc/keys hidden, /proc/bus read-only; --insecure-options=paths lifts it', async () => {
    const mounts = (await facts([], [], ['mounts'])).mounts ?? '';
    expect(mounts).toMatch(/\/proc\/kallsyms:r[ow],/);
    expect(mounts).toMatch(/\/proc\/keys:r[ow],/);
    expect(mounts).toMatch(/\/proc\/bus:ro,/);
    const r = await w.run(['run', w.probe, '--exec=/bin/sh', '--', '-c', 'wc -c < /proc/kallsyms; echo x > /proc/sys/kernel/hostname && echo wrote']);
    expect(r.stdout.trim()).toBe('0');
    const open = await w.run(['--insecure-options=paths', 'run', w.probe, '--exec=/probe', '--', 'mounts']);
    expect(probeFacts(open.stdout).mounts ?? '').not.toMatch(/\/proc\/kallsyms:/);
  });

  it('only standard device nodes exist in /dev', async () => {
    const r = await w.run(['run', w.probe, '--exec=/bin/ls', '--', '/dev']);
    expect(r.code).toBe(0);
    const nodes = r.stdout.split(/\s+/).filter(Boolean);
    expect(nodes).toEqual(expect.arrayContaining(['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'shm']));
    expect(nodes).not.toContain('sda');
    expect(nodes).not.toContain('mem');
  });

  it('environment precedence: image < --set-env-file < --set-env < --environment; --inherit-env never overrides', async () => {
    const r = await w.run(['run', '--set-env=A=pod', '--set-env=B=pod', '--inherit-env', w.probe, '--exec=/probe', '--environment=B=app', '--', 'env'], { env: { A: 'caller', C: 'caller' } });
    expect(r.code).toBe(0);
    const env = r.stdout.split('\n').filter((l) => l.startsWith('env:'));
    expect(env).toEqual(expect.arrayContaining(['env:A=pod', 'env:B=app', 'env:C=caller', 'env:AC_APP_NAME=probe']));
    expect(env).toContain('env:PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  });

  it('the app gets /etc/hostname and /etc/hosts naming the pod hostname', async () => {
    const r = await w.run(['run', '--hostname=web1', w.probe, '--exec=/bin/cat', '--', '/etc/hostname', '/etc/hosts']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^web1\n/);
    expect(r.stdout).toMatch(/127\.0\.0\.1\s+localhost.* web1/);
  });

  it('the exit code passes through and status shows it', async () => {
    const r = await w.probeRun(['--uuid-file-save', `${w.base}/uuid`], [], ['exit', '7']);
    expect(r.code).toBe(7);
    const s = await w.run(['status', '--uuid-file', `${w.base}/uuid`]);
    expect(s.stdout).toMatch(/^state=exited$/m);
    expect(s.stdout).toMatch(/^app-probe=7$/m);
  });

  it('a missing executable fails the app with a clear message', async () => {
    const r = await w.run(['run', w.probe, '--exec=/no/such']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/exec \/no\/such: No such file or directory/);
  });
});
