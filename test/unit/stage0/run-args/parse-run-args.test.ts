import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../src/errors/capsule-error.js';
import { parseMountFlag, parseSeccompFlag, parseVolumeFlag, stage1FlavourOf } from '../../../../src/stage0/run-args/flag-values.js';
import { parseRunArgs } from '../../../../src/stage0/run-args/parse-run-args.js';
import type { AppSpec, PodFlags, RunSpec } from '../../../../src/stage0/run-args/run-spec.js';

const IMG = 'example.com/capsule/probe';
const IMG2 = 'example.com/capsule/busybox';

const emptyApp = (image: string): AppSpec => ({ image, args: [], environment: [], mounts: [], userAnnotations: {}, userLabels: {}, annotations: {} });
const defaults: PodFlags = {
  volumes: [],
  mounts: [],
  setEnv: [],
  setEnvFiles: [],
  inheritEnv: false,
  interactive: false,
  privateUsers: false,
  noOverlay: false,
  dns: [],
  dnsSearch: [],
  dnsOpt: [],
  hostsEntries: [],
  ports: [],
  pullPolicy: 'new',
  quiet: false,
};

describe('parseRunArgs: argv walking', () => {
  const cases: [string, string[], RunSpec][] = [
    ['one image', [IMG], { pod: defaults, apps: [emptyApp(IMG)] }],
    ['two images', [IMG, IMG2], { pod: defaults, apps: [emptyApp(IMG), emptyApp(IMG2)] }],
    ['app args', [IMG, '--', 'a', '--b', '-c'], { pod: defaults, apps: [{ ...emptyApp(IMG), args: ['a', '--b', '-c'] }] }],
    ['app args, nested flags are not parsed', [IMG, '--', '--exec', '/x', '--'], { pod: defaults, apps: [{ ...emptyApp(IMG), args: ['--exec', '/x', '--'] }] }],
    [
      '--- ends app args so another image can follow',
      [IMG, '--exec', '/bin/x', '--', '-v', '---', IMG2, '--', '--flag'],
      { pod: defaults, apps: [{ ...emptyApp(IMG), exec: '/bin/x', args: ['-v'] }, { ...emptyApp(IMG2), args: ['--flag'] }] },
    ],
    ['per-app flags after --- apply to the preceding image', [IMG, '--', 'a', '---', '--user', '1000'], { pod: defaults, apps: [{ ...emptyApp(IMG), args: ['a'], user: '1000' }] }],
    ['a stray --- is ignored', ['---', IMG, '---'], { pod: defaults, apps: [emptyApp(IMG)] }],
    ['empty app args', [IMG, '--', '---', IMG2], { pod: defaults, apps: [emptyApp(IMG), emptyApp(IMG2)] }],
    ['pod flags may follow images', [IMG, '--no-overlay', IMG2], { pod: { ...defaults, noOverlay: true }, apps: [emptyApp(IMG), emptyApp(IMG2)] }],
    ['--flag=value and --flag value', ['--hostname=h1', IMG, '--user=u', '--group', 'g'], { pod: { ...defaults, hostname: 'h1' }, apps: [{ ...emptyApp(IMG), user: 'u', group: 'g' }] }],
    ['a value may look like a flag (pflag)', [IMG, '--exec', '--version'], { pod: defaults, apps: [{ ...emptyApp(IMG), exec: '--version' }] }],
    ['a lone - is an image', ['-'], { pod: defaults, apps: [emptyApp('-')] }],
    ['an empty value with =', ['--hostname=', IMG], { pod: { ...defaults, hostname: '' }, apps: [emptyApp(IMG)] }],
  ];
  for (const [what, argv, want] of cases) it(what, () => expect(parseRunArgs(argv, 'run')).toEqual(want));
});

describe('parseRunArgs: pod flags', () => {
  const cases: [string, string[], Partial<PodFlags>, ('run' | 'prepare')?][] = [
    ['bare --net is default', ['--net', IMG], { net: 'default' }],
    ['--net=value kept raw', ['--net=default,mynet:IP=10.1.1.1', IMG], { net: 'default,mynet:IP=10.1.1.1' }],
    ['--net repeated', ['--net=a', '--net=b', IMG], { net: 'a,b' }],
    ['--net=none', ['--net=none', IMG], { net: 'none' }],
    ['--inherit-env', ['--inherit-env', IMG], { inheritEnv: true }],
    ['--inherit-env=false', ['--inherit-env=false', IMG], { inheritEnv: false }],
    ['--interactive=1', ['--interactive=1', IMG], { interactive: true }],
    ['--set-env in order', ['--set-env', 'B=2', '--set-env=A=1=x', '--set-env=E=', IMG], { setEnv: [['B', '2'], ['A', '1=x'], ['E', '']] }],
    ['--set-env-file repeatable', ['--set-env-file', '/a', '--set-env-file=/b', IMG], { setEnvFiles: ['/a', '/b'] }],
    ['--private-users with --no-overlay', ['--private-users', '--no-overlay', IMG], { privateUsers: true, noOverlay: true }],
    ['--ipc', ['--ipc', 'private', IMG], { ipc: 'private' }],
    ['dns flags raw', ['--dns=8.8.8.8,1.1.1.1', '--dns', '9.9.9.9', '--dns-search=a.b', '--dns-opt=ndots:3', '--dns-domain=x.y', IMG], { dns: ['8.8.8.8,1.1.1.1', '9.9.9.9'], dnsSearch: ['a.b'], dnsOpt: ['ndots:3'], dnsDomain: 'x.y' }],
    ['--hosts-entry raw', ['--hosts-entry=10.0.0.1=db', '--hosts-entry', '10.0.0.2=web', IMG], { hostsEntries: ['10.0.0.1=db', '10.0.0.2=web'] }],
    ['--port raw', ['--port=http:8080', '--port', 'dns:127.0.0.1:53', IMG], { ports: ['http:8080', 'dns:127.0.0.1:53'] }],
    ['--uuid-file-save', ['--uuid-file-save=/tmp/u', IMG], { uuidFileSave: '/tmp/u' }],
    ['--pull-policy', ['--pull-policy', 'never', IMG], { pullPolicy: 'never' }],
    ['--store-only = never', ['--store-only', IMG], { pullPolicy: 'never' }],
    ['--no-store = update', ['--no-store', IMG], { pullPolicy: 'update' }],
    ['--mds-register=false is accepted', ['--mds-register=false', IMG], { mdsRegister: false }],
    ['--mds-register (checked when the pod starts)', ['--mds-register', IMG], { mdsRegister: true }],
    ['prepare --mds-register', ['--mds-register', IMG], { mdsRegister: true }, 'prepare'],
    ['--stage1=fly', ['--stage1=fly', IMG], { stage1: 'fly' }],
    ['--stage1-name fly image', ['--stage1-name=coreos.com/rkt/stage1-fly:1.30.0', IMG], { stage1: 'fly' }],
    ['--stage1-name coreos image', ['--stage1-name', 'coreos.com/rkt/stage1-coreos', IMG], { stage1: 'nspawn' }],
    ['--stage1-path fly aci', ['--stage1-path=/usr/lib/rkt/stage1-images/stage1-fly.aci', IMG], { stage1: 'fly' }],
    ['--stage1-url host aci', ['--stage1-url=https://example.com/stage1-host.aci?x=fly', IMG], { stage1: 'nspawn' }],
    ['--stage1-from-dir src', ['--stage1-from-dir=stage1-src.aci', IMG], { stage1: 'nspawn' }],
    ['the same stage1 flag twice: the last wins', ['--stage1=fly', '--stage1=nspawn', IMG], { stage1: 'nspawn' }],
    ['prepare --quiet', ['--quiet', IMG], { quiet: true }, 'prepare'],
    ['--pod-manifest alone', ['--pod-manifest=/tmp/pm.json'], { podManifest: '/tmp/pm.json' }],
    ['--pod-manifest with the flags that apply', ['--pod-manifest', '/pm', '--net=host', '--no-overlay', '--interactive', '--hostname=h', '--stage1=fly'], { podManifest: '/pm', net: 'host', noOverlay: true, interactive: true, hostname: 'h', stage1: 'fly' }],
    ['--pod-manifest with --pull-policy=new', ['--pod-manifest=/pm', '--pull-policy=new'], { podManifest: '/pm' }],
    [
      'volumes',
      ['--volume', 'data,kind=host,source=/srv/data,readOnly=true,recursive=false', '--volume=cache,kind=empty,mode=0700,uid=1000,gid=100', '--volume=tmp,kind=empty', IMG],
      {
        volumes: [
          { name: 'data', kind: 'host', source: '/srv/data', readOnly: true, recursive: false },
          { name: 'cache', kind: 'empty', mode: '0700', uid: 1000, gid: 100 },
          { name: 'tmp', kind: 'empty' },
        ],
      },
    ],
    ['pod-wide mounts before any image', ['--volume=v,kind=empty', '--mount', 'volume=v,target=/data/', IMG], { volumes: [{ name: 'v', kind: 'empty' }], mounts: [{ volume: 'v', path: '/data' }] }],
  ];
  for (const [what, argv, want, kind] of cases) {
    it(what, () => {
      const spec = parseRunArgs(argv, kind ?? 'run');
      expect(spec.pod).toEqual({ ...defaults, ...want });
    });
  }
});

describe('parseRunArgs: per-app flags', () => {
  const cases: [string, string[], Partial<AppSpec>][] = [
    ['--exec', ['--exec', '/bin/sh'], { exec: '/bin/sh' }],
    ['--signature', ['--signature=/x.asc'], { signature: '/x.asc' }],
    ['--name', ['--name', 'web'], { name: 'web' }],
    ['--user and --group', ['--user=root', '--group=/bin/ping'], { user: 'root', group: '/bin/ping' }],
    ['--supplementary-gids appends', ['--supplementary-gids=1,2', '--supplementary-gids', '30'], { supplementaryGids: [1, 2, 30] }],
    ['--working-dir', ['--working-dir=/srv'], { workingDir: '/srv' }],
    ['bare --readonly-rootfs', ['--readonly-rootfs'], { readOnlyRootfs: true }],
    ['--readonly-rootfs=false', ['--readonly-rootfs=false'], { readOnlyRootfs: false }],
    ['--environment: a repeated key keeps its place, the last value wins', ['--environment=A=1', '--environment', 'B=2', '--environment=A=3'], { environment: [['A', '3'], ['B', '2']] }],
    ['--memory 16M', ['--memory=16M'], { memory: 16_000_000 }],
    ['--memory 16Mi', ['--memory', '16Mi'], { memory: 16 * 2 ** 20 }],
    ['--memory 1G', ['--memory=1G'], { memory: 1e9 }],
    ['--memory exactly 4Mi', ['--memory=4Mi'], { memory: 4194304 }],
    ['--cpu 500m', ['--cpu=500m'], { cpuMilli: 500 }],
    ['--cpu 2', ['--cpu=2'], { cpuMilli: 2000 }],
    ['--cpu 0.25', ['--cpu=0.25'], { cpuMilli: 250 }],
    ['--cpu-shares', ['--cpu-shares=2048'], { cpuShares: 2048 }],
    ['--oom-score-adj', ['--oom-score-adj', '-500'], { oomScoreAdj: -500 }],
    ['--caps-retain canonicalizes', ['--caps-retain=CAP_NET_ADMIN,kill,cap_chown'], { capsRetain: ['CAP_NET_ADMIN', 'CAP_KILL', 'CAP_CHOWN'] }],
    ['--caps-remove', ['--caps-remove', 'CAP_MKNOD'], { capsRemove: ['CAP_MKNOD'] }],
    ['legacy --cap-retain', ['--cap-retain=CAP_KILL'], { capsRetain: ['CAP_KILL'] }],
    ['legacy --cap-remove', ['--cap-remove=CAP_KILL'], { capsRemove: ['CAP_KILL'] }],
    ['--caps-retain twice: the last wins', ['--caps-retain=CAP_KILL', '--caps-retain=CAP_CHOWN'], { capsRetain: ['CAP_CHOWN'] }],
    ['--seccomp retain', ['--seccomp', 'mode=retain,errno=ENOTSUP,@docker/default-whitelist,chmod'], { seccomp: { mode: 'retain', errno: 'ENOTSUP', set: ['@docker/default-whitelist', 'chmod'] } }],
    ['--seccomp remove, errno first (rkt order)', ['--seccomp=errno=EPERM,mode=remove,reboot'], { seccomp: { mode: 'remove', errno: 'EPERM', set: ['reboot'] } }],
    ['--seccomp without errno', ['--seccomp=mode=remove,@appc.io/empty'], { seccomp: { mode: 'remove', errno: null, set: ['@appc.io/empty'] } }],
    ['--seccomp with an empty errno (kill)', ['--seccomp=mode=retain,errno=,read'], { seccomp: { mode: 'retain', errno: null, set: ['read'] } }],
    ['--seccomp @appc.io/all in a retain set', ['--seccomp=mode=retain,@appc.io/all'], { seccomp: { mode: 'retain', errno: null, set: ['@appc.io/all'] } }],
    ['--user-annotation and --user-label', ['--user-annotation=a=1', '--user-label', 'l=x=y'], { userAnnotations: { a: '1' }, userLabels: { l: 'x=y' } }],
    ['--annotation', ['--annotation=example.com/key=v'], { annotations: { 'example.com/key': 'v' } }],
    ['--mount after an image is the app’s', ['--mount=volume=v,target=/a'], { mounts: [{ volume: 'v', path: '/a' }] }],
    // rkt: a relative target is relative to "/"; ".." is resolved by stage1 inside the app's root.
    ['--mount with a relative target', ['--mount=volume=v,target=dir//sub/'], { mounts: [{ volume: 'v', path: '/dir/sub' }] }],
    ['--mount with ".." kept for stage1', ['--mount=volume=v,target=/a/../../b'], { mounts: [{ volume: 'v', path: '/a/../../b' }] }],
  ];
  for (const [what, flags, want] of cases) {
    it(what, () => {
      const spec = parseRunArgs(['--volume=v,kind=empty', IMG, ...flags], 'run');
      expect(spec.apps).toEqual([{ ...emptyApp(IMG), ...want }]);
    });
  }

  it('per-app flags go to the nearest preceding image', () => {
    const spec = parseRunArgs([IMG, '--name=a', '--memory=8Mi', IMG2, '--name=b', '--cpu=100m'], 'run');
    expect(spec.apps).toEqual([
      { ...emptyApp(IMG), name: 'a', memory: 8 * 2 ** 20 },
      { ...emptyApp(IMG2), name: 'b', cpuMilli: 100 },
    ]);
  });
});

describe('parseRunArgs: errors', () => {
  const cases: [string[], string, ('run' | 'prepare')?][] = [
    [[], 'must provide at least one image or specify the pod manifest'],
    [['--no-overlay'], 'must provide at least one image or specify the pod manifest'],
    [['--', 'a'], 'an image is required before any app arguments'],
    [['--net', '--', 'a'], 'an image is required before any app arguments'],
    [[IMG, '--', 'a', '---', '--', 'b'], 'only one set of app arguments allowed per image'],
    [[IMG, '--', 'a', '---', '--no-overlay', '--', 'b'], 'only one set of app arguments allowed per image'],
    [['--exec', '/bin/sh', IMG], '--exec must follow an image'],
    [['--user=0', IMG], '--user must follow an image'],
    [['--group', '0', IMG], '--group must follow an image'],
    [['--memory=1G', IMG], '--memory must follow an image'],
    [['--cpu=1', IMG], '--cpu must follow an image'],
    [['--cpu-shares=2', IMG], '--cpu-shares must follow an image'],
    [['--caps-retain=CAP_KILL', IMG], '--caps-retain must follow an image'],
    [['--cap-remove=CAP_KILL', IMG], '--cap-remove must follow an image'],
    [['--seccomp=mode=remove,reboot', IMG], '--seccomp must follow an image'],
    [['--name=x', IMG], '--name must follow an image'],
    [['--environment=A=1', IMG], '--environment must follow an image'],
    [['--signature=/s', IMG], '--signature must follow an image'],
    [['--readonly-rootfs', IMG], '--readonly-rootfs must follow an image'],
    [['--oom-score-adj=1', IMG], '--oom-score-adj must follow an image'],
    [['--working-dir=/', IMG], '--working-dir must follow an image'],
    [['--supplementary-gids=1', IMG], '--supplementary-gids must follow an image'],
    [['--user-annotation=a=b', IMG], '--user-annotation must follow an image'],
    [['--user-label=a=b', IMG], '--user-label must follow an image'],
    [['--annotation=a=b', IMG], '--annotation must follow an image'],
    [[IMG, '--exec=/a', '--exec=/b'], '--exec specified multiple times for the same image'],
    [[IMG, '--signature=/a', '--signature', '/b'], '--signature specified multiple times for the same image'],
    [[IMG, '--exec='], '--exec must not be empty'],
    [['--frobnicate', IMG], 'unknown flag: --frobnicate'],
    [['--frobnicate=1', IMG], 'unknown flag: --frobnicate'],
    [['-v', IMG], "unknown shorthand flag: 'v' in -v"],
    [[IMG, '--exec'], 'flag needs an argument: --exec'],
    [['--volume'], 'flag needs an argument: --volume'],
    [['--quiet', IMG], 'unknown flag: --quiet', 'run'],
    [['--net', IMG], 'unknown flag: --net', 'prepare'],
    [['--interactive', IMG], 'unknown flag: --interactive', 'prepare'],
    [['--hostname=h', IMG], 'unknown flag: --hostname', 'prepare'],
    [['--uuid-file-save=/u', IMG], 'unknown flag: --uuid-file-save', 'prepare'],
    [['--inherit-env=maybe', IMG], 'invalid boolean value "maybe" for --inherit-env (want true or false)'],
    [[IMG, '--readonly-rootfs=yes'], '--readonly-rootfs must be set with a boolean'],
    // volumes
    [['--volume=data,kind=host,source=/a', '--volume=data,kind=empty', IMG], 'duplicate volume name "data"'],
    [['--volume=data', IMG], 'invalid value in --volume flag "data": unrecognized volume kind: should be one of "empty", "host"'],
    [['--volume=data,kind=nfs', IMG], 'invalid value in --volume flag "data,kind=nfs": unrecognized volume kind: should be one of "empty", "host"'],
    [['--volume=data,kind=host', IMG], 'invalid value in --volume flag "data,kind=host": source for host volume cannot be empty'],
    [['--volume=data,kind=host,source=rel', IMG], 'invalid value in --volume flag "data,kind=host,source=rel": source for host volume must be absolute path'],
    [['--volume=data,kind=host,source=/a,mode=0700', IMG], 'invalid value in --volume flag "data,kind=host,source=/a,mode=0700": mode for host volume cannot be set'],
    [['--volume=data,kind=empty,source=/a', IMG], 'invalid value in --volume flag "data,kind=empty,source=/a": source for empty volume must be empty'],
    [['--volume=data,kind=empty,recursive=true', IMG], 'invalid value in --volume flag "data,kind=empty,recursive=true": recursive for empty volume cannot be set'],
    [['--volume=data,kind=empty,mode=999', IMG], 'invalid value in --volume flag "data,kind=empty,mode=999": invalid mode "999"'],
    [['--volume=data,kind=empty,uid=-1', IMG], 'invalid value in --volume flag "data,kind=empty,uid=-1": invalid uid "-1"'],
    [['--volume=data,kind=host,source=/a,readOnly=yes', IMG], 'invalid value in --volume flag "data,kind=host,source=/a,readOnly=yes": readOnly: invalid boolean "yes"'],
    [['--volume=data,kind=host,source=/a,colour=red', IMG], 'invalid value in --volume flag "data,kind=host,source=/a,colour=red": unknown volume parameter "colour"'],
    [['--volume=data,kind=host,kind=empty', IMG], 'invalid value in --volume flag "data,kind=host,kind=empty": volume parameter "kind" given more than once'],
    [['--volume=Data,kind=empty', IMG], 'invalid value in --volume flag "Data,kind=empty": volume name: "Data" must contain only lower case alphanumeric characters plus "-" and start and end with an alphanumeric character'],
    // mounts
    [['--volume=v,kind=empty', '--mount=volume=v,target=/a,mode=ro', IMG], 'unknown mount parameter "mode"'],
    [['--volume=v,kind=empty', '--mount=volume=v', IMG], '--mount flag "volume=v" needs volume= and target='],
    [['--volume=v,kind=empty', '--mount=volume=v,target=', IMG], 'invalid target "" in --mount flag "volume=v,target=": must be a path'],
    [['--mount=volume=V,target=/a', IMG], 'invalid volume name "V" in --mount flag "volume=V,target=/a": volume name: "V" must contain only lower case alphanumeric characters plus "-" and start and end with an alphanumeric character'],
    [['--mount=volume=nope,target=/data', IMG], 'dangling mount point "/data": volume "nope" not found'],
    [[IMG, '--mount=volume=nope,target=/data'], 'dangling mount point "/data": volume "nope" not found'],
    // env
    [['--set-env=A=1', '--set-env=A=2', IMG], '--set-env: key "A" already set'],
    [['--set-env=A', IMG], 'invalid format of --set-env flag "A"'],
    [['--set-env==1', IMG], 'invalid format of --set-env flag "=1"'],
    [[IMG, '--environment=A'], 'invalid format of --environment flag "A"'],
    [[IMG, '--user-annotation=nokey'], 'invalid format of --user-annotation flag "nokey"'],
    [[IMG, '--user-label=x'], 'invalid format of --user-label flag "x"'],
    [[IMG, '--annotation=Bad=1'], '--annotation: "Bad" must contain only lower case alphanumeric characters plus "-._~/"'],
    // app values
    [[IMG, '--name=Web'], '--name: "Web" must contain only lower case alphanumeric characters plus "-" and start and end with an alphanumeric character'],
    [[IMG, '--user='], '--user must not be empty'],
    [[IMG, '--supplementary-gids=1,x'], '--supplementary-gids must be integers'],
    [[IMG, '--supplementary-gids=4294967295'], '--supplementary-gids must be integers'],
    [[IMG, '--working-dir=srv'], '--working-dir must be an absolute path'],
    [[IMG, '--memory=16m'], 'memory limit of 0 bytes too low (minimum 4194304)'],
    [[IMG, '--memory=4194303'], 'memory limit of 4194303 bytes too low (minimum 4194304)'],
    [[IMG, '--memory=1M'], 'memory limit of 1000000 bytes too low (minimum 4194304)'],
    [[IMG, '--memory=lots'], '--memory: bad quantity "lots"'],
    [[IMG, '--cpu=0'], '--cpu: CPU limit of "0" is below 1m'],
    [[IMG, '--cpu=fast'], '--cpu: bad quantity "fast"'],
    [[IMG, '--cpu-shares=1'], '--cpu-shares must be an integer from 2 to 262144'],
    [[IMG, '--cpu-shares=262145'], '--cpu-shares must be an integer from 2 to 262144'],
    [[IMG, '--cpu-shares=1.5'], '--cpu-shares must be an integer from 2 to 262144'],
    [[IMG, '--oom-score-adj=1001'], '--oom-score-adj must be an integer from -1000 to 1000'],
    [[IMG, '--caps-retain=CAP_FLY'], '--caps-retain: unknown capability "CAP_FLY"'],
    [[IMG, '--caps-remove=CAP_KILL,'], '--caps-remove: empty capability name'],
    [[IMG, '--caps-retain=CAP_KILL', '--caps-remove=CAP_CHOWN'], 'cannot use both --caps-retain and --caps-remove on the same image'],
    [[IMG, '--seccomp=chmod'], 'invalid seccomp mode command-line override (want mode=retain or mode=remove)'],
    [[IMG, '--seccomp=mode=allow,chmod'], 'invalid seccomp mode command-line override (want mode=retain or mode=remove)'],
    [[IMG, '--seccomp=mode=retain'], '--seccomp needs at least one syscall or @group'],
    [[IMG, '--seccomp=mode=retain,flavour=x,chmod'], 'invalid seccomp command-line override "flavour=x"'],
    [[IMG, '--seccomp=mode=retain,,chmod'], 'invalid seccomp command-line override ""'],
    [[IMG, '--seccomp=mode=retain,errno=EWHAT,chmod'], '--seccomp: unknown errno "EWHAT"'],
    [[IMG, '--seccomp=mode=retain,@systemd/nope'], '--seccomp: unknown seccomp group "@systemd/nope"'],
    [[IMG, '--seccomp=mode=retain,Chmod'], '--seccomp: bad syscall name "Chmod"'],
    [[IMG, '--seccomp=mode=remove,@appc.io/all'], '--seccomp: @appc.io/all is only valid in a retain set'],
    // pod-level checks
    [['--ipc=shared', IMG], 'invalid value "shared" for --ipc (auto, private or parent)'],
    [['--pull-policy=always', IMG], 'invalid pull policy "always" (want new, update or never)'],
    [['--store-only', '--no-store', IMG], 'both --store-only and --no-store specified'],
    [['--stage1-name=coreos.com/rkt/stage1-coreos', '--stage1-path=/x/stage1-fly.aci', IMG], 'flags --stage1-name and --stage1-path are mutually exclusive'],
    [['--stage1=fly', '--stage1-url=https://e.com/stage1-fly.aci', IMG], 'flags --stage1 and --stage1-url are mutually exclusive'],
    [['--stage1-hash=sha512-0123abcd', IMG], 'unsupported stage1 "sha512-0123abcd" for --stage1-hash (capsule has the nspawn and fly flavours)'],
    [['--stage1-name=coreos.com/rkt/stage1-kvm', IMG], 'unsupported stage1 "coreos.com/rkt/stage1-kvm" for --stage1-name (capsule has the nspawn and fly flavours)'],
    [['--stage1=stage1-fly', IMG], 'unsupported stage1 "stage1-fly" for --stage1 (capsule has the nspawn and fly flavours)'],
    [['--port=http:80', '--net=none', IMG], "--port flag does not work with 'none' networking"],
    [['--port=http:80', '--net=host', IMG], "--port flag does not work with 'host' networking"],
    [['--interactive', IMG, IMG2], 'interactive option only supports one image'],
    [['--private-users', IMG], 'cannot use both overlay and user namespace: not implemented yet. (Try --no-overlay)'],
    // --pod-manifest conflicts
    [['--pod-manifest=/pm', IMG], 'conflicting flags set with --pod-manifest (see --help)'],
    [['--pod-manifest=/pm', '--volume=v,kind=empty'], 'conflicting flags set with --pod-manifest (see --help)'],
    [['--pod-manifest=/pm', '--volume=v,kind=empty', '--mount=volume=v,target=/v'], 'conflicting flags set with --pod-manifest (see --help)'],
    [['--pod-manifest=/pm', '--port=http:80'], 'conflicting flags set with --pod-manifest (see --help)'],
    [['--pod-manifest=/pm', '--inherit-env'], 'conflicting flags set with --pod-manifest (see --help)'],
    [['--pod-manifest=/pm', '--set-env=A=1'], 'conflicting flags set with --pod-manifest (see --help)'],
    [['--pod-manifest=/pm', '--set-env-file=/e'], 'conflicting flags set with --pod-manifest (see --help)'],
    [['--pod-manifest=/pm', '--store-only'], 'conflicting flags set with --pod-manifest (see --help)'],
    [['--pod-manifest=/pm', '--pull-policy=update'], 'conflicting flags set with --pod-manifest (see --help)'],
  ];
  for (const [argv, msg, kind] of cases) {
    it(`${kind ?? 'run'} ${argv.join(' ')} → ${msg}`, () => {
      let err: unknown;
      try {
        parseRunArgs(argv, kind ?? 'run');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(msg);
    });
  }
});

describe('flag value parsers', () => {
  it('volumes keep values raw (no URL decoding)', () => expect(parseVolumeFlag('v,kind=host,source=/a%20b+c')).toEqual({ name: 'v', kind: 'host', source: '/a%20b+c' }));
  it('mount targets are normalized', () => expect(parseMountFlag('target=/a//b/./c/,volume=v')).toEqual({ volume: 'v', path: '/a/b/c' }));
  it('mount target /', () => expect(parseMountFlag('volume=v,target=/')).toEqual({ volume: 'v', path: '/' }));
  it('seccomp errno last', () => expect(parseSeccompFlag('mode=remove,chmod,errno=EACCES')).toEqual({ mode: 'remove', errno: 'EACCES', set: ['chmod'] }));
  const flavours: [string, string, string][] = [
    ['nspawn', '--stage1', 'nspawn'],
    ['fly', '--stage1-name', 'fly'],
    ['coreos.com/rkt/stage1-fly', '--stage1-name', 'fly'],
    ['coreos.com/rkt/stage1-coreos:1.30.0', '--stage1-name', 'nspawn'],
    ['/usr/lib/rkt/stage1-images/stage1-host.aci', '--stage1-path', 'nspawn'],
    ['file:///opt/stage1-fly-1.30.0-linux-amd64.aci', '--stage1-url', 'fly'],
  ];
  for (const [v, flag, want] of flavours) it(`${flag}=${v} → ${want}`, () => expect(stage1FlavourOf(v, flag)).toBe(want));
});
