import { describe, expect, it } from 'vitest';
import type { InsecureOption } from '../../../../src/config/global-options.js';
import { DEFAULT_CAPABILITIES, sortCapabilities } from '../../../../src/spec/capabilities.js';
import { validateImageManifest, type ImageManifest } from '../../../../src/spec/image-manifest.js';
import { CAPSULE_DEFAULT_BLOCKLIST, RETAIN_LIFECYCLE, seccompGroup } from '../../../../src/spec/seccomp-groups.js';
import type { AppRuntime, PodVolume, SeccompPlan } from '../../../../src/stage1/contract.js';
import { parseRunArgs } from '../../../../src/stage0/run-args/parse-run-args.js';
import { DEFAULT_PATH, resolveApp, type ResolveAppInput, type ResolvedApp } from '../../../../src/stage0/run-args/resolve-app.js';

const ID = `sha512-${'a'.repeat(128)}`;
const TREE = `deps-sha512-${'b'.repeat(64)}`;

function manifest(app: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}): ImageManifest {
  return validateImageManifest({ acKind: 'ImageManifest', acVersion: '0.8.11', name: 'example.com/capsule/probe', ...(app ? { app } : {}), ...extra });
}

const BASE_APP = {
  exec: ['/probe', '--serve'],
  user: 'web',
  group: 'web',
  environment: [
    { name: 'IMG', value: 'image' },
    { name: 'SHARED', value: 'from-image' },
  ],
};

const FILES: Record<string, string> = {
  'etc/passwd': 'root:x:0:0::/root:/bin/sh\nweb:x:1000:1000::/:/bin/sh\n',
  'etc/group': 'root:x:0:\nweb:x:1001:\nwheel:x:10:\n',
};

/** Resolves `probe` with run flags (as typed after the image) and options. */
function resolve(appFlags: string[] = [], o: { podFlags?: string[]; m?: ImageManifest; insecure?: InsecureOption[]; env?: Record<string, string>; envFile?: Array<[string, string]>; override?: ResolveAppInput['appOverride'] } = {}): ResolvedApp & { warnings: string[] } {
  const spec = parseRunArgs([...(o.podFlags ?? []), 'example.com/capsule/probe', ...appFlags], 'run');
  const warnings: string[] = [];
  const app = spec.apps[0];
  if (!app) throw new Error('no app');
  const r = resolveApp({
    spec: app,
    pod: spec.pod,
    image: { id: ID, name: 'example.com/capsule/probe', treeId: TREE, manifest: o.m ?? manifest(BASE_APP) },
    name: 'probe',
    volumes: spec.pod.volumes,
    insecure: new Set(o.insecure ?? []),
    callerEnv: o.env ?? {},
    envFromFile: o.envFile ?? [],
    readImageFile: (p) => FILES[p] ?? null,
    statImageFile: (p) => (p === 'bin/ping' ? { uid: 0, gid: 4242 } : null),
    warn: (m) => warnings.push(m),
    ...(o.override ? { appOverride: o.override } : {}),
  });
  return { ...r, warnings };
}

const rt = (...a: Parameters<typeof resolve>): AppRuntime => resolve(...a).runtime;

describe('resolveApp: the whole runtime for a plain image', () => {
  it('defaults', () => {
    expect(rt()).toEqual({
      name: 'probe',
      image: { id: ID, name: 'example.com/capsule/probe', treeId: TREE },
      exec: ['/probe', '--serve'],
      env: [['IMG', 'image'], ['SHARED', 'from-image'], ['AC_APP_NAME', 'probe'], ['PATH', DEFAULT_PATH], ['container', 'capsule']],
      uid: 1000,
      gid: 1001,
      supplementaryGids: [],
      workingDirectory: '/',
      readOnlyRootfs: false,
      capabilities: sortCapabilities(DEFAULT_CAPABILITIES),
      noNewPrivileges: false,
      seccomp: { mode: 'remove', syscalls: [...CAPSULE_DEFAULT_BLOCKLIST], errno: 'EPERM' },
      memoryLimit: null,
      cpuMilli: null,
      cpuShares: null,
      oomScoreAdj: null,
      mounts: [],
      supportsNotify: false,
    } satisfies AppRuntime);
  });
});

describe('resolveApp: exec', () => {
  const cases: [string, string[], string[], ImageManifest?][] = [
    ['image exec', [], ['/probe', '--serve']],
    ['app args append to the image exec', ['--', '-v', 'x'], ['/probe', '--serve', '-v', 'x']],
    ['--exec replaces the whole command', ['--exec', '/bin/sh'], ['/bin/sh']],
    ['--exec plus app args', ['--exec=/bin/sh', '--', '-c', 'echo hi'], ['/bin/sh', '-c', 'echo hi']],
    ['--exec on an image without an app', ['--exec', 'sh'], ['sh'], manifest(undefined)],
  ];
  for (const [what, flags, want, m] of cases) it(what, () => expect(rt(flags, m ? { m } : {}).exec).toEqual(want));

  it('event handlers: pre-start and post-stop argv from the image, kept with --exec; absent when the image has none', () => {
    const m = manifest({ ...BASE_APP, eventHandlers: [{ name: 'post-stop', exec: ['/post', 'x'] }, { name: 'pre-start', exec: ['/pre'] }] });
    expect(rt([], { m })).toMatchObject({ preStart: ['/pre'], postStop: ['/post', 'x'] });
    expect(rt(['--exec=/other'], { m })).toMatchObject({ exec: ['/other'], preStart: ['/pre'], postStop: ['/post', 'x'] });
    const plain = rt();
    expect('preStart' in plain || 'postStop' in plain).toBe(false);
  });
  it('an event handler with an empty exec', () =>
    expect(() => rt([], { m: manifest({ ...BASE_APP, eventHandlers: [{ name: 'pre-start', exec: [] }] }) })).toThrow('app "probe": the pre-start event handler has an empty exec'));
  it('an image without an app and no --exec', () => expect(() => rt([], { m: manifest(undefined) })).toThrow('image "example.com/capsule/probe" has no app section; use --exec'));
  it('an image app without exec and no --exec', () => expect(() => rt([], { m: manifest({ user: '0', group: '0' }) })).toThrow('image "example.com/capsule/probe" has no exec; use --exec'));
  it('an image without an app runs as root', () => expect(rt(['--exec=/x'], { m: manifest(undefined) })).toMatchObject({ uid: 0, gid: 0, workingDirectory: '/' }));
});

describe('resolveApp: environment precedence', () => {
  const caller = { SHARED: 'from-caller', HOME: '/root', CAPSULE_LOCK_FD: '3', CAPSULE_HANDOVER: '/run/h', CAPSULE_LOCK_PENDING: '/p' };
  const cases: [string, Parameters<typeof resolve>, Array<[string, string]>][] = [
    ['inherited env only with --inherit-env', [[], { env: caller }], [['IMG', 'image'], ['SHARED', 'from-image'], ['AC_APP_NAME', 'probe'], ['PATH', DEFAULT_PATH], ['container', 'capsule']]],
    ['inherited env never overrides the image; wrapper variables stay out', [[], { podFlags: ['--inherit-env'], env: caller }], [['IMG', 'image'], ['SHARED', 'from-image'], ['HOME', '/root'], ['AC_APP_NAME', 'probe'], ['PATH', DEFAULT_PATH], ['container', 'capsule']]],
    ['--set-env-file over the image', [[], { envFile: [['SHARED', 'file'], ['F', '1']] }], [['IMG', 'image'], ['SHARED', 'file'], ['F', '1'], ['AC_APP_NAME', 'probe'], ['PATH', DEFAULT_PATH], ['container', 'capsule']]],
    ['--set-env over the file', [[], { podFlags: ['--set-env=SHARED=set', '--set-env=F=set'], envFile: [['SHARED', 'file'], ['F', '1']] }], [['IMG', 'image'], ['SHARED', 'set'], ['F', 'set'], ['AC_APP_NAME', 'probe'], ['PATH', DEFAULT_PATH], ['container', 'capsule']]],
    [
      '--environment over everything',
      [['--environment=SHARED=app', '--environment=NEW=n'], { podFlags: ['--inherit-env', '--set-env=SHARED=set'], env: { SHARED: 'caller' }, envFile: [['SHARED', 'file']] }],
      [['IMG', 'image'], ['SHARED', 'app'], ['NEW', 'n'], ['AC_APP_NAME', 'probe'], ['PATH', DEFAULT_PATH], ['container', 'capsule']],
    ],
    ['a PATH given is kept', [['--environment=PATH=/bin']], [['IMG', 'image'], ['SHARED', 'from-image'], ['PATH', '/bin'], ['AC_APP_NAME', 'probe'], ['container', 'capsule']]],
    ['an inherited PATH is kept', [[], { podFlags: ['--inherit-env'], env: { PATH: '/host/bin' } }], [['IMG', 'image'], ['SHARED', 'from-image'], ['PATH', '/host/bin'], ['AC_APP_NAME', 'probe'], ['container', 'capsule']]],
    ['container names the executor unless the app sets it', [['--environment=container=mine']], [['IMG', 'image'], ['SHARED', 'from-image'], ['container', 'mine'], ['AC_APP_NAME', 'probe'], ['PATH', DEFAULT_PATH]]],
    ['AC_APP_NAME is always the app name', [['--environment=AC_APP_NAME=other']], [['IMG', 'image'], ['SHARED', 'from-image'], ['AC_APP_NAME', 'probe'], ['PATH', DEFAULT_PATH], ['container', 'capsule']]],
  ];
  for (const [what, args, want] of cases) it(what, () => expect(rt(...args).env).toEqual(want));

  it('the manifest app keeps the merged env without AC_APP_NAME and the default PATH', () => {
    expect(resolve(['--environment=X=1']).app.environment).toEqual([
      { name: 'IMG', value: 'image' },
      { name: 'SHARED', value: 'from-image' },
      { name: 'X', value: '1' },
    ]);
  });

  it('NUL in a variable is refused', () => expect(() => rt([], { envFile: [['A', 'x\0y']] })).toThrow('app "probe": environment variable "A" contains a NUL character'));
});

describe('resolveApp: user, group, groups, working directory', () => {
  const cases: [string, string[], Partial<AppRuntime>, ImageManifest?][] = [
    ['names from the image', [], { uid: 1000, gid: 1001 }],
    ['numbers', ['--user=5', '--group=6'], { uid: 5, gid: 6 }],
    ['root always works', ['--user=root', '--group=root'], { uid: 0, gid: 0 }],
    ['a path: its owner', ['--user=/bin/ping', '--group=/bin/ping'], { uid: 0, gid: 4242 }],
    ['group name', ['--group=wheel'], { gid: 10 }],
    ['supplementary gids from the image', [], { supplementaryGids: [5, 6] }, manifest({ ...BASE_APP, supplementaryGIDs: [5, 6] })],
    ['--supplementary-gids replace them', ['--supplementary-gids=7'], { supplementaryGids: [7] }, manifest({ ...BASE_APP, supplementaryGIDs: [5, 6] })],
    ['working directory from the image', [], { workingDirectory: '/srv' }, manifest({ ...BASE_APP, workingDirectory: '/srv' })],
    ['--working-dir wins', ['--working-dir=/tmp'], { workingDirectory: '/tmp' }, manifest({ ...BASE_APP, workingDirectory: '/srv' })],
    ['--readonly-rootfs', ['--readonly-rootfs'], { readOnlyRootfs: true }],
  ];
  for (const [what, flags, want, m] of cases) it(what, () => expect(rt(flags, m ? { m } : {})).toMatchObject(want));

  const bad: [string, string[], string, ImageManifest?][] = [
    ['unknown user', ['--user=user2'], '"user2" user not found'],
    ['unknown group', ['--group=staff'], '"staff" group not found'],
    ['a missing path', ['--user=/nope'], '"/nope" user not found'],
    ['unknown user from the image', [], '"nobody" user not found', manifest({ ...BASE_APP, user: 'nobody' })],
  ];
  for (const [what, flags, msg, m] of bad) it(what, () => expect(() => rt(flags, m ? { m } : {})).toThrow(msg));
});

const iso = (isolators: unknown[]): ImageManifest => manifest({ ...BASE_APP, isolators });

describe('resolveApp: capabilities', () => {
  const cases: [string, string[], string[] | 'all', ImageManifest?, InsecureOption[]?][] = [
    ['defaults', [], sortCapabilities(DEFAULT_CAPABILITIES)],
    ['--caps-retain: exactly that set', ['--caps-retain=CAP_NET_ADMIN,CAP_CHOWN'], ['CAP_CHOWN', 'CAP_NET_ADMIN']],
    ['--caps-remove: defaults minus the set; a non-default is a no-op', ['--caps-remove=CAP_MKNOD,CAP_NET_RAW,CAP_SYS_ADMIN'], sortCapabilities(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_MKNOD' && c !== 'CAP_NET_RAW'))],
    ['image retain set', [], ['CAP_KILL'], iso([{ name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_KILL'] } }])],
    ['image retain sets add up', [], ['CAP_CHOWN', 'CAP_KILL'], iso([{ name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_CHOWN'] } }, { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_KILL'] } }])],
    ['an image retain set beyond the defaults, granted by --insecure-options=capabilities', [], 'all', iso([{ name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_SYS_ADMIN'] } }]), ['capabilities']],
    ['image remove set', [], sortCapabilities(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_KILL')), iso([{ name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_KILL'] } }])],
    ['the flag replaces the image’s set', ['--caps-remove=CAP_KILL'], sortCapabilities(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_KILL')), iso([{ name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_SYS_ADMIN'] } }])],
    ['--insecure-options=capabilities', ['--caps-retain=CAP_KILL'], 'all', undefined, ['capabilities']],
  ];
  for (const [what, flags, want, m, insecure] of cases) it(what, () => expect(rt(flags, { ...(m ? { m } : {}), insecure: insecure ?? [] }).capabilities).toEqual(want));

  it('an unknown capability in the image', () => expect(() => rt([], { m: iso([{ name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_FOO'] } }]) })).toThrow('app "probe": os/linux/capabilities-retain-set: unknown capability "CAP_FOO"'));
  it('retain and remove sets together', () =>
    expect(() => rt([], { m: iso([{ name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_KILL'] } }, { name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_KILL'] } }]) })).toThrow(
      'app "probe": isolators set contains incompatible types (capabilities retain and remove sets)',
    ));
});

describe('resolveApp: seccomp', () => {
  const def: SeccompPlan = { mode: 'remove', syscalls: [...CAPSULE_DEFAULT_BLOCKLIST], errno: 'EPERM' };
  const cases: [string, string[], AppRuntime['seccomp'], ImageManifest?, InsecureOption[]?][] = [
    ['no isolator: the Capsule default blocklist', [], def],
    ['--insecure-options=seccomp: no filter', ['--seccomp=mode=remove,reboot'], null, undefined, ['seccomp']],
    ['remove set without errno kills', ['--seccomp=mode=remove,reboot,@systemd/swap'], { mode: 'remove', syscalls: ['reboot', 'swapoff', 'swapon'], errno: null }],
    ['remove set with errno', ['--seccomp=mode=remove,errno=ENOSYS,reboot'], { mode: 'remove', syscalls: ['reboot'], errno: 'ENOSYS' }],
    ['@appc.io/empty in a remove set: the defaults only', ['--seccomp=mode=remove,@appc.io/empty'], def],
    ['@appc.io/empty with an errno', ['--seccomp=mode=remove,errno=EACCES,@appc.io/empty'], { ...def, errno: 'EACCES' }],
    ['@appc.io/empty plus more: defaults and more, no errno given: kill', ['--seccomp=mode=remove,@appc.io/empty,chmod'], { mode: 'remove', syscalls: ['chmod', ...CAPSULE_DEFAULT_BLOCKLIST], errno: null }],
    ['@appc.io/all in a retain set: no filter', ['--seccomp=mode=retain,@appc.io/all'], null],
    ['retain set gets the lifecycle syscalls', ['--seccomp=mode=retain,errno=EPERM,read,write'], { mode: 'retain', syscalls: ['read', 'write', ...RETAIN_LIFECYCLE], errno: 'EPERM' }],
    ['retain set groups expand', ['--seccomp=mode=retain,@docker/default-whitelist'], { mode: 'retain', syscalls: [...new Set([...seccompGroup('@docker/default-whitelist'), ...RETAIN_LIFECYCLE])], errno: null }],
    ['image remove set (the defaults and more)', [], { mode: 'remove', syscalls: [...new Set(['chroot', ...CAPSULE_DEFAULT_BLOCKLIST])], errno: 'EPERM' }, iso([{ name: 'os/linux/seccomp-remove-set', value: { set: ['chroot', '@appc.io/empty'], errno: 'EPERM' } }])],
    ['image empty errno means kill', [], { mode: 'remove', syscalls: [...new Set(['chroot', ...CAPSULE_DEFAULT_BLOCKLIST])], errno: null }, iso([{ name: 'os/linux/seccomp-remove-set', value: { set: ['chroot', '@appc.io/empty'], errno: '' } }])],
    ['an image remove set narrower than the defaults, granted by --insecure-options=seccomp', [], null, iso([{ name: 'os/linux/seccomp-remove-set', value: { set: ['ptrace'] } }]), ['seccomp']],
    ['--seccomp replaces the image’s (other mode)', ['--seccomp=mode=remove,reboot'], { mode: 'remove', syscalls: ['reboot'], errno: null }, iso([{ name: 'os/linux/seccomp-retain-set', value: { set: ['@appc.io/all'] } }])],
  ];
  for (const [what, flags, want, m, insecure] of cases) it(what, () => expect(rt(flags, { ...(m ? { m } : {}), insecure: insecure ?? [] }).seccomp).toEqual(want));

  const bad: [string, ImageManifest, string][] = [
    ['unknown group in the image', iso([{ name: 'os/linux/seccomp-remove-set', value: { set: ['@nope/x'] } }]), 'app "probe": os/linux/seccomp-remove-set: unknown seccomp group "@nope/x"'],
    ['unknown errno in the image', iso([{ name: 'os/linux/seccomp-remove-set', value: { set: ['ptrace'], errno: 'ENOPE' } }]), 'app "probe": os/linux/seccomp-remove-set: unknown errno "ENOPE"'],
    ['@appc.io/all in a remove set', iso([{ name: 'os/linux/seccomp-remove-set', value: { set: ['@appc.io/all'] } }]), 'app "probe": os/linux/seccomp-remove-set: @appc.io/all is only valid in a retain set'],
  ];
  for (const [what, m, msg] of bad) it(what, () => expect(() => rt([], { m })).toThrow(msg));
});

describe('resolveApp: resources and other isolators', () => {
  const cases: [string, string[], Partial<AppRuntime>, ImageManifest?][] = [
    ['memory and cpu flags', ['--memory=64Mi', '--cpu=250m'], { memoryLimit: 64 * 2 ** 20, cpuMilli: 250 }],
    ['image limits', [], { memoryLimit: 128 * 2 ** 20, cpuMilli: 1500 }, iso([{ name: 'resource/memory', value: { limit: '128Mi' } }, { name: 'resource/cpu', value: { request: '1', limit: '1.5' } }])],
    ['a request alone is no limit', [], { memoryLimit: null, cpuMilli: null }, iso([{ name: 'resource/memory', value: { request: '128Mi' } }, { name: 'resource/cpu', value: { request: '1' } }])],
    ['flags replace image limits', ['--memory=8Mi', '--cpu=2'], { memoryLimit: 8 * 2 ** 20, cpuMilli: 2000 }, iso([{ name: 'resource/memory', value: { limit: '1Gi' } }, { name: 'resource/cpu', value: { limit: '100m' } }])],
    ['cpu-shares and oom-score-adj from the image', [], { cpuShares: 512, oomScoreAdj: -100 }, iso([{ name: 'os/linux/cpu-shares', value: 512 }, { name: 'os/linux/oom-score-adj', value: -100 }])],
    ['and from flags', ['--cpu-shares=2048', '--oom-score-adj=900'], { cpuShares: 2048, oomScoreAdj: 900 }, iso([{ name: 'os/linux/cpu-shares', value: 512 }, { name: 'os/linux/oom-score-adj', value: -100 }])],
    ['no_new_privs: the last value wins', [], { noNewPrivileges: true }, iso([{ name: 'os/linux/no-new-privileges', value: false }, { name: 'os/linux/no-new-privileges', value: true }])],
    ['no_new_privs false', [], { noNewPrivileges: false }, iso([{ name: 'os/linux/no-new-privileges', value: false }])],
    ['supports-systemd-notify', [], { supportsNotify: true }, manifest(BASE_APP, { annotations: [{ name: 'appc.io/executor/supports-systemd-notify', value: 'true' }] })],
    ['supports-systemd-notify false', [], { supportsNotify: false }, manifest(BASE_APP, { annotations: [{ name: 'appc.io/executor/supports-systemd-notify', value: 'false' }] })],
  ];
  for (const [what, flags, want, m] of cases) it(what, () => expect(rt(flags, m ? { m } : {})).toMatchObject(want));

  it('unsupported isolators in a pod manifest app (the user\'s own) are reported, once each', () => {
    const r = resolve([], { override: { ...BASE_APP, isolators: [{ name: 'resource/block-bandwidth', value: { default: true, limit: '1M' } }, { name: 'os/linux/apparmor-profile', value: { profile: 'p' } }, { name: 'example.com/custom', value: 1 }, { name: 'example.com/custom', value: 2 }] } });
    expect(r.warnings).toEqual([
      'isolator "resource/block-bandwidth" is not supported and was ignored',
      'isolator "os/linux/apparmor-profile" is not supported and was ignored',
      'isolator "example.com/custom" is not supported and was ignored',
    ]);
  });

  it('the manifest app carries the effective isolators (flags replace the same kind)', () => {
    const r = resolve(['--memory=8Mi', '--caps-retain=CAP_KILL', '--seccomp=mode=retain,errno=EPERM,read', '--cpu-shares=100', '--oom-score-adj=5', '--cpu=1'], {
      m: iso([
        { name: 'resource/memory', value: { limit: '1Gi' } },
        { name: 'os/linux/capabilities-remove-set', value: { set: ['CAP_CHOWN'] } },
        { name: 'os/linux/seccomp-remove-set', value: { set: ['ptrace'] } },
        { name: 'os/linux/no-new-privileges', value: true },
      ]),
    });
    expect(r.app.isolators).toEqual([
      { name: 'os/linux/no-new-privileges', value: true },
      { name: 'resource/memory', value: { request: '8388608', limit: '8388608' } },
      { name: 'resource/cpu', value: { request: '1000m', limit: '1000m' } },
      { name: 'os/linux/cpu-shares', value: 100 },
      { name: 'os/linux/oom-score-adj', value: 5 },
      { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_KILL'] } },
      { name: 'os/linux/seccomp-retain-set', value: { set: ['read'], errno: 'EPERM' } },
    ]);
  });

  it('the manifest app object: exec, user strings, annotations and labels replaced', () => {
    const r = resolve(['--exec=/bin/sh', '--user=root', '--user-annotation=a=1', '--user-label=l=2', '--', '-c', 'x'], { m: manifest({ ...BASE_APP, userAnnotations: { old: 'x' } }) });
    expect(r.app).toMatchObject({ exec: ['/bin/sh', '-c', 'x'], user: 'root', group: 'web', userAnnotations: { a: '1' }, userLabels: { l: '2' } });
  });
});

describe('resolveApp: mounts and volumes', () => {
  const withPoints = manifest({
    ...BASE_APP,
    mountPoints: [
      { name: 'data', path: '/var/data' },
      { name: 'cache', path: '/var/cache/', readOnly: true },
      { name: 'logs', path: '/var/log' },
    ],
  });
  // An implicit volume starts with the image's content at its mount point (rkt, Docker).
  const implicit = (name: string, p: string): PodVolume => ({ name, kind: 'empty', readOnly: false, recursive: false, mode: '0755', uid: 0, gid: 0, prefill: { app: 'probe', path: p } });
  const cases: [string, string[], string[], AppRuntime['mounts'], PodVolume[], ImageManifest?][] = [
    ['no mount points, no mounts', [], [], [], []],
    ['a pod-wide mount', ['--volume=v,kind=empty', '--mount=volume=v,target=/v'], [], [{ volume: 'v', path: '/v', readOnly: false }], []],
    ['the app’s mount wins over a pod-wide one of the same path', ['--volume=a,kind=empty', '--volume=b,kind=empty', '--mount=volume=a,target=/m'], ['--mount=volume=b,target=/m'], [{ volume: 'b', path: '/m', readOnly: false }], []],
    ['volume readOnly', ['--volume=v,kind=host,source=/s,readOnly=true'], ['--mount=volume=v,target=/v'], [{ volume: 'v', path: '/v', readOnly: true }], []],
    [
      'mount points: by mount, by volume name, else an implicit empty volume',
      ['--volume=data,kind=host,source=/srv/data', '--volume=other,kind=empty'],
      ['--mount=volume=other,target=/var/cache'],
      [
        { volume: 'other', path: '/var/cache', readOnly: true },
        { volume: 'data', path: '/var/data', readOnly: false },
        { volume: 'probe-logs', path: '/var/log', readOnly: false },
      ],
      [implicit('probe-logs', '/var/log')],
      withPoints,
    ],
    [
      'an explicit volume readOnly=false beats the mount point’s readOnly (rkt)',
      ['--volume=cache,kind=empty', '--volume=data,kind=host,source=/d,readOnly=false', '--volume=logs,kind=host,source=/l,readOnly=true'],
      [],
      [
        { volume: 'data', path: '/var/data', readOnly: false },
        { volume: 'cache', path: '/var/cache', readOnly: true },
        { volume: 'logs', path: '/var/log', readOnly: true },
      ],
      [],
      withPoints,
    ],
  ];
  for (const [what, podFlags, appFlags, want, vols, m] of cases) {
    it(what, () => {
      const r = resolve(appFlags, { podFlags, ...(m ? { m } : {}) });
      expect(r.runtime.mounts).toEqual(want);
      expect(r.implicitVolumes).toEqual(vols);
      expect(r.mounts).toEqual(want.map(({ volume, path }) => ({ volume, path })));
    });
  }

  it('warns about an implicit volume (rkt)', () => {
    expect(resolve([], { podFlags: ['--volume=data,kind=empty', '--volume=cache,kind=empty'], m: withPoints }).warnings).toEqual([
      'no volume specified for mount point "logs", implicitly creating an "empty" volume. This volume will be removed when the pod is garbage-collected.',
    ]);
  });

  it('a dangling mount', () => {
    const spec = parseRunArgs(['--volume=v,kind=empty', 'example.com/capsule/probe', '--mount=volume=v,target=/v'], 'run');
    const app = spec.apps[0]!;
    expect(() =>
      resolveApp({
        spec: app,
        pod: spec.pod,
        image: { id: ID, name: 'example.com/capsule/probe', treeId: TREE, manifest: manifest(BASE_APP) },
        name: 'probe',
        volumes: [],
        insecure: new Set(),
        callerEnv: {},
        envFromFile: [],
        readImageFile: () => null,
        statImageFile: () => null,
        warn: () => {},
      }),
    ).toThrow('dangling mount point "/v": volume "v" not found');
  });
});

describe('resolveApp: a pod manifest’s app object replaces the image’s', () => {
  it('wholesale', () => {
    const r = resolve([], { override: { exec: ['/other'], user: '0', group: '0', environment: [{ name: 'O', value: '1' }] } });
    expect(r.runtime).toMatchObject({ exec: ['/other'], uid: 0, gid: 0, env: [['O', '1'], ['AC_APP_NAME', 'probe'], ['PATH', DEFAULT_PATH], ['container', 'capsule']] });
  });
});

describe('resolveApp: an image cannot grant itself privilege (issue 12 §1)', () => {
  const retain = (set: string[]): ImageManifest => iso([{ name: 'os/linux/capabilities-retain-set', value: { set } }]);
  it('capabilities beyond the default set are refused, listing them', () =>
    expect(() => rt([], { m: retain(['CAP_KILL', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']) })).toThrow(
      'app "probe": image "example.com/capsule/probe" asks for capabilities beyond the default set: CAP_SYS_PTRACE, CAP_SYS_ADMIN; grant them with --caps-retain=CAP_KILL,CAP_SYS_PTRACE,CAP_SYS_ADMIN or --insecure-options=capabilities',
    ));
  it('--caps-retain naming them grants them', () => expect(rt(['--caps-retain=CAP_SYS_ADMIN'], { m: retain(['CAP_SYS_ADMIN']) }).capabilities).toEqual(['CAP_SYS_ADMIN']));
  it('a pod manifest app granting them is the user\'s word', () => expect(rt([], { override: { ...BASE_APP, isolators: [{ name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_SYS_ADMIN'] } }] } }).capabilities).toEqual(['CAP_SYS_ADMIN']));
  it('a seccomp remove set that drops default-blocked syscalls is refused', () =>
    expect(() => rt([], { m: iso([{ name: 'os/linux/seccomp-remove-set', value: { set: [...CAPSULE_DEFAULT_BLOCKLIST.filter((x) => x !== 'mount' && x !== 'ptrace')] } }]) })).toThrow(
      'app "probe": image "example.com/capsule/probe" asks for a seccomp filter that allows what the default one blocks: mount, ptrace; grant it with --seccomp or --insecure-options=seccomp',
    ));
  it('a seccomp retain set that allows a default-blocked syscall is refused', () =>
    expect(() => rt([], { m: iso([{ name: 'os/linux/seccomp-retain-set', value: { set: ['@docker/default-whitelist', 'unshare'] } }]) })).toThrow(/allows what the default one blocks: .*unshare/));
  it('@appc.io/all from the image is refused', () => expect(() => rt([], { m: iso([{ name: 'os/linux/seccomp-retain-set', value: { set: ['@appc.io/all'] } }]) })).toThrow(/allows what the default one blocks: all syscalls \(@appc.io\/all\)/));
  it('--seccomp replaces the image\'s filter', () => expect(rt(['--seccomp=mode=retain,@appc.io/all'], { m: iso([{ name: 'os/linux/seccomp-retain-set', value: { set: ['@appc.io/all'] } }]) }).seccomp).toBeNull());
  it('a retain set inside the default passes', () => expect(rt([], { m: iso([{ name: 'os/linux/seccomp-retain-set', value: { set: ['read', 'write'] } }]) }).seccomp).toMatchObject({ mode: 'retain' }));
  it('unsupported isolators from the image are refused, not ignored', () =>
    expect(() => rt([], { m: iso([{ name: 'resource/block-bandwidth', value: { default: true, limit: '1M' } }, { name: 'example.com/custom', value: 1 }]) })).toThrow(
      'app "probe": image "example.com/capsule/probe" sets isolators Capsule does not support: resource/block-bandwidth, example.com/custom; refusing to run it without them (give the app in a --pod-manifest without them)',
    ));
});
