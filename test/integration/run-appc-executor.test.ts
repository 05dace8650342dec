import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines } from '../helpers/cli.js';
import { sampleImage } from '../helpers/images.js';
import { makePodWorld, podSkipReason, probeFacts, waitFor, type PodWorld } from '../helpers/pods.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping run-appc-executor tests: ${skip}\n`);

const SPEC_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** appc executor conformance (appc spec ace.md): event handlers, environment, file systems. */
describe.skipIf(skip !== null)('capsule run as an appc executor', () => {
  let w: PodWorld;
  let aceMain: string;
  let aceSidekick: string;
  beforeAll(async () => {
    w = await makePodWorld('capsule-ap-exec-');
    const ids: string[] = [];
    for (const name of ['ace-main', 'ace-sidekick'] as const) {
      const r = await w.run(['--insecure-options=image', 'fetch', '--full', sampleImage(name)]);
      expect(r.code).toBe(0);
      ids.push(r.stdout.trim());
    }
    [aceMain = '', aceSidekick = ''] = ids;
  }, 120_000);
  afterAll(async () => {
    await w?.teardown();
  });

  /** A --pod-manifest file with the probe image and the given app objects. */
  const podManifest = (name: string, apps: Array<{ name: string; app: Record<string, unknown> }>, extra: Record<string, unknown> = {}): string => {
    const file = path.join(w.base, `${name}.json`);
    const manifest = {
      acKind: 'PodManifest',
      acVersion: '0.8.11',
      apps: apps.map((a) => ({ name: a.name, image: { id: w.probe }, app: { user: '0', group: '0', ...a.app } })),
      ...extra,
    };
    fs.writeFileSync(file, JSON.stringify(manifest));
    return file;
  };
  const uuidOf = (file: string): string => fs.readFileSync(file, 'utf8').trim();

  it('passes the ACE validator checks: pre-start, main and post-stop in order in one rootfs, a sidekick sharing an empty volume at the same time', async () => {
    const uuidFile = path.join(w.base, 'ace');
    const r = await w.run(['run', '--uuid-file-save', uuidFile, '--volume=database,kind=empty', aceMain, aceSidekick]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    expect([...lines].sort()).toEqual(['main OK', 'poststop OK', 'prestart OK', 'sidekick OK']);
    const order = lines.filter((l) => l !== 'sidekick OK');
    expect(order).toEqual(['prestart OK', 'main OK', 'poststop OK']);
    const uuid = uuidOf(uuidFile);
    const logs = await w.run(['logs', '--app=ace-validator-main', uuid]);
    expect(logs.stdout.split('\n').filter((l) => l !== '')).toEqual(['prestart OK', 'main OK', 'poststop OK']);
    const st = await w.run(['status', uuid]);
    expect(st.stdout).toMatch(/^app-ace-validator-main=0$/m);
    expect(st.stdout).toMatch(/^app-ace-validator-sidekick=0$/m);
  }, 60_000);

  it('pre-start runs as root with the app\'s environment before an app of another user; what it writes the app sees', async () => {
    const pm = podManifest('uid', [
      {
        name: 'hooked',
        app: {
          user: '1000',
          group: '1000',
          environment: [{ name: 'FROM_IMAGE', value: 'yes' }],
          exec: ['/bin/sh', '-c', 'cat /tmp/hook; echo "app uid=$(id -u) gid=$(id -g)"'],
          eventHandlers: [{ name: 'pre-start', exec: ['/bin/sh', '-c', 'echo "hook uid=$(id -u) gid=$(id -g) groups=$(id -G) env=$FROM_IMAGE name=$AC_APP_NAME" > /tmp/hook; chmod 600 /tmp/hook; chown 1000 /tmp/hook'] }],
        },
      },
    ]);
    const r = await w.run(['run', `--pod-manifest=${pm}`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hook uid=0 gid=0 groups=0 env=yes name=hooked\napp uid=1000 gid=1000\n');
  });

  it('pre-start keeps the app\'s other isolation: bounding set and seccomp filter', async () => {
    const pm = podManifest('iso', [
      {
        name: 'iso',
        app: {
          exec: ['/probe', 'capbnd', 'seccomp'],
          isolators: [{ name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_CHOWN'] } }],
          eventHandlers: [{ name: 'pre-start', exec: ['/probe', 'capbnd', 'seccomp'] }],
        },
      },
    ]);
    const r = await w.run(['run', `--pod-manifest=${pm}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('capbnd=0000000000000001\nseccomp=2\ncapbnd=0000000000000001\nseccomp=2\n');
  });

  it.each([
    ['a failing pre-start', ['/bin/sh', '-c', 'echo hook output; exit 3'], 3, 'capsule-stage1: app app: pre-start handler /bin/sh failed with exit code 3'],
    ['a missing pre-start', ['/no/such/hook'], 127, 'capsule-stage1: app app: pre-start handler /no/such/hook failed with exit code 127: exec: No such file or directory'],
  ])('%s fails the app with one line naming the handler and its exit code; the app never runs', async (_what, hook, code, line) => {
    const uuidFile = path.join(w.base, `fail-${code}`);
    const pm = podManifest(`fail-${code}`, [{ name: 'app', app: { exec: ['/bin/echo', 'main ran'], eventHandlers: [{ name: 'pre-start', exec: hook }] } }]);
    const r = await w.run(['run', '--uuid-file-save', uuidFile, `--pod-manifest=${pm}`]);
    expect(r.code).toBe(code);
    expect(errorLines(r)).toEqual([line]);
    expect(r.stdout).not.toContain('main ran');
    const st = await w.run(['status', uuidOf(uuidFile)]);
    expect(st.stdout).toMatch(new RegExp(`^app-app=${code}$`, 'm'));
    const logs = await w.run(['logs', uuidOf(uuidFile)]);
    expect(logs.stdout + logs.stderr).toContain(line);
  });

  it('post-stop runs after the app was stopped by capsule stop, its output in the app\'s log; the pod exits as the app', async () => {
    const uuidFile = path.join(w.base, 'post');
    const pm = podManifest('post', [{ name: 'sleeper', app: { exec: ['/bin/sh', '-c', 'echo main started; touch /tmp/started; exec sleep 600'], eventHandlers: [{ name: 'post-stop', exec: ['/bin/sh', '-c', 'test -e /tmp/started && echo post-stop saw the app'] }] } }]);
    const child = w.spawnRun(['run', '--uuid-file-save', uuidFile, `--pod-manifest=${pm}`]);
    await waitFor('the app to start', async () => fs.existsSync(uuidFile) && /main started/.test((await w.run(['logs', uuidOf(uuidFile)])).stdout));
    const stop = await w.run(['stop', uuidOf(uuidFile)]);
    expect(stop.code).toBe(0);
    expect(await child.exited).toBe(143);
    expect(child.out()).toBe('main started\npost-stop saw the app\n');
    const logs = await w.run(['logs', uuidOf(uuidFile)]);
    expect(logs.stdout).toBe('main started\npost-stop saw the app\n');
    expect((await w.run(['status', uuidOf(uuidFile)])).stdout).toMatch(/^app-sleeper=143$/m);
  }, 60_000);

  it.each([
    ['0', false],
    ['20s', true],
  ])('after one app failed, the others go on for the grace period (annotation capsule.io/stop-grace-period=%s) before SIGTERM', async (grace, startsMain) => {
    const uuidFile = path.join(w.base, `grace-${grace}`);
    const pm = podManifest(
      `grace-${grace}`,
      [
        { name: 'fails', app: { exec: ['/bin/sh', '-c', 'exit 4'] } },
        // Its pre-start outlasts grace 0 but not 20 s; then the app itself records it ran and ends.
        { name: 'slow', app: { exec: ['/bin/echo', 'slow main ran'], eventHandlers: [{ name: 'pre-start', exec: ['/bin/sh', '-c', 'sleep 1'] }] } },
      ],
      { annotations: [{ name: 'capsule.io/stop-grace-period', value: grace }] },
    );
    const r = await w.run(['run', '--uuid-file-save', uuidFile, `--pod-manifest=${pm}`]);
    expect(r.code).toBe(4);
    expect(r.stdout.includes('slow main ran')).toBe(startsMain);
    const st = (await w.run(['status', uuidOf(uuidFile)])).stdout;
    expect(st).toMatch(/^app-fails=4$/m);
    expect(st).toMatch(startsMain ? /^app-slow=0$/m : /^app-slow=143$/m);
  }, 60_000);

  it('a bad grace period annotation is refused before anything is created', async () => {
    const pm = podManifest('badgrace', [{ name: 'a', app: { exec: ['/bin/true'] } }], { annotations: [{ name: 'capsule.io/stop-grace-period', value: 'soon' }] });
    const before = w.pods().length;
    const r = await w.run(['run', `--pod-manifest=${pm}`]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual(['run: pod annotation capsule.io/stop-grace-period: invalid duration "soon" (examples: 0, 500ms, 2s; at most 1h)']);
    expect(w.pods().length).toBe(before);
  });

  it('fly: pre-start runs as root before the app; a post-stop handler is reported as not run', async () => {
    const pm = podManifest('fly', [
      {
        name: 'flown',
        app: {
          user: '1000',
          group: '1000',
          exec: ['/bin/sh', '-c', 'cat /tmp/fly-hook; id -u'],
          eventHandlers: [
            { name: 'pre-start', exec: ['/bin/sh', '-c', 'id -u > /tmp/fly-hook'] },
            { name: 'post-stop', exec: ['/post'] },
          ],
        },
      },
    ]);
    const r = await w.run(['run', '--stage1=fly', `--pod-manifest=${pm}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('0\n1000\n');
    expect(errorLines(r)).toEqual(['capsule-stage1: app flown: the fly flavour does not run post-stop handlers; /post will not run']);
    const bad = podManifest('fly-bad', [{ name: 'flown', app: { exec: ['/bin/echo', 'main ran'], eventHandlers: [{ name: 'pre-start', exec: ['/bin/sh', '-c', 'exit 5'] }] } }]);
    const f = await w.run(['run', '--stage1=fly', `--pod-manifest=${bad}`]);
    expect(f.code).toBe(5);
    expect(errorLines(f)).toEqual(['capsule-stage1: app flown: pre-start handler /bin/sh failed with exit code 5']);
    expect(f.stdout).toBe('');
  });

  it('environment: the spec PATH when the image sets none, AC_APP_NAME the pod\'s app name, container=capsule, user variables win over the image', async () => {
    const env = async (args: string[]): Promise<Record<string, string>> => {
      const r = await w.run(['run', ...args]);
      expect(r.code).toBe(0);
      const out: Record<string, string> = {};
      for (const l of r.stdout.split('\n')) {
        const i = l.indexOf('=');
        if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
      }
      return out;
    };
    const plain = await env([aceSidekick, '--name=side', '--exec=/usr/bin/env']);
    expect(plain).toMatchObject({ PATH: SPEC_PATH, AC_APP_NAME: 'side', container: 'capsule' });
    const set = await env(['--set-env=PATH=/bin', aceMain, '--name=main', '--set-env=IN_ACE_VALIDATOR=changed', '--exec=/usr/bin/env']);
    expect(set).toMatchObject({ PATH: '/bin', AC_APP_NAME: 'main', IN_ACE_VALIDATOR: 'changed' });
  });

  it('file systems: /proc /sys /dev mounted with the spec\'s device nodes, each volume a real mount with its declared ro/rw flag', async () => {
    const host = fs.mkdtempSync(path.join(w.base, 'vol-'));
    const r = await w.run([
      'run', `--volume=ro,kind=host,source=${host},readOnly=true`, `--volume=rw,kind=host,source=${host}`, '--volume=scratch,kind=empty',
      w.probe, '--mount=volume=ro,target=/ro', '--mount=volume=rw,target=/rw', '--mount=volume=scratch,target=/scratch', '--exec=/probe', '--',
      'mount-of', '/proc', '/sys', '/dev', '/ro', '/rw', '/scratch', '/nomount',
    ]);
    expect(r.code).toBe(0);
    const f = probeFacts(r.stdout);
    expect(f['mount-of:/ro']).toMatch(/^ro(,|$)/);
    expect(f['mount-of:/rw']).toMatch(/^rw(,|$)/);
    expect(f['mount-of:/scratch']).toMatch(/^rw(,|$)/);
    expect(f['mount-of:/nomount']).toBe('none');
    for (const p of ['/proc', '/sys', '/dev']) expect(f[`mount-of:${p}`]).not.toBe('none');
    const nodes = ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'console', 'ptmx', 'pts', 'shm'];
    const d = await w.run(['run', w.busybox, '--exec=/bin/sh', '--', '-c', `for n in ${nodes.join(' ')}; do [ -e /dev/$n ] && echo $n; done; awk '$5 == "/dev/pts" || $5 == "/dev/shm" { print $5, $9 }' /proc/self/mountinfo | sort`]);
    expect(d.code).toBe(0);
    expect(d.stdout).toBe(`${nodes.join('\n')}\n/dev/pts devpts\n/dev/shm tmpfs\n`);
  });
});
