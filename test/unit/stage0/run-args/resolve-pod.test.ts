import { describe, expect, it } from 'vitest';
import { CapsuleError, UsageError } from '../../../../src/errors/capsule-error.js';
import { validateImageManifest, type ImageManifest } from '../../../../src/spec/image-manifest.js';
import { parseRunArgs } from '../../../../src/stage0/run-args/parse-run-args.js';
import type { AppImage } from '../../../../src/stage0/run-args/resolve-app.js';
import { appNameFromImage, parsePodManifest, podVolume, resolvePod, resolvePodManifest, type ResolvePodOptions } from '../../../../src/stage0/run-args/resolve-pod.js';

const id = (c: string): string => `sha512-${c.repeat(128)}`;

function image(name: string, c: string, app?: Record<string, unknown>, extra: Record<string, unknown> = {}): AppImage & { rootfs: string } {
  const manifest: ImageManifest = validateImageManifest({ acKind: 'ImageManifest', acVersion: '0.8.11', name, labels: [{ name: 'version', value: '1.0' }, { name: 'os', value: 'linux' }, { name: 'arch', value: 'amd64' }], ...(app ? { app } : {}), ...extra });
  return { id: id(c), name, treeId: `tree-${c}`, manifest, rootfs: `/trees/${c}` };
}

const PROBE = image('example.com/capsule/probe', 'a', { exec: ['/probe'], user: 'root', group: 'root', mountPoints: [{ name: 'data', path: '/data' }] });
const BUSYBOX = image('example.com/capsule/busybox', 'b', { exec: ['/bin/sh'], user: '0', group: '0' });

function opts(files: Record<string, string> = {}): ResolvePodOptions<AppImage & { rootfs: string }> & { warnings: string[]; reads: string[] } {
  const warnings: string[] = [];
  const reads: string[] = [];
  return {
    warnings,
    reads,
    insecure: new Set(),
    env: { HOME: '/root' },
    readFile: (p) => {
      const t = files[p];
      if (t === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: 'ENOENT' });
      return t;
    },
    readImageFile: (img, rel) => {
      reads.push(`${img.rootfs}/${rel}`);
      return null;
    },
    statImageFile: () => null,
    warn: (m) => warnings.push(m),
  };
}

describe('appNameFromImage', () => {
  const cases: [string, string][] = [
    ['example.com/capsule/probe', 'probe'],
    ['coreos.com/etcd', 'etcd'],
    ['busybox', 'busybox'],
    ['example.com/my_app.v2', 'my-app-v2'],
    ['example.com/-x-', 'x'],
    ['registry-1.docker.io/library/redis', 'redis'],
  ];
  for (const [n, want] of cases) it(`${n} → ${want}`, () => expect(appNameFromImage(n)).toBe(want));
  it('nothing usable', () => expect(() => appNameFromImage('example.com/___')).toThrow('cannot derive an app name from image name "example.com/___"; use --name'));
});

describe('podVolume defaults', () => {
  const cases: [Parameters<typeof podVolume>, ReturnType<typeof podVolume>][] = [
    [[{ name: 'h', kind: 'host', source: '/s' }, 'nspawn'], { name: 'h', kind: 'host', source: '/s', readOnly: false, recursive: true, mode: '0755', uid: 0, gid: 0 }],
    [[{ name: 'h', kind: 'host', source: '/s' }, 'fly'], { name: 'h', kind: 'host', source: '/s', readOnly: false, recursive: false, mode: '0755', uid: 0, gid: 0 }],
    [[{ name: 'h', kind: 'host', source: '/s', recursive: false, readOnly: true }, 'nspawn'], { name: 'h', kind: 'host', source: '/s', readOnly: true, recursive: false, mode: '0755', uid: 0, gid: 0 }],
    [[{ name: 'e', kind: 'empty', mode: '0700', uid: 5, gid: 6 }, 'nspawn'], { name: 'e', kind: 'empty', readOnly: false, recursive: false, mode: '0700', uid: 5, gid: 6 }],
  ];
  for (const [args, want] of cases) it(`${args[0].name} ${args[1]}`, () => expect(podVolume(...args)).toEqual(want));
});

describe('resolvePod', () => {
  it('a two-app pod: runtime, volumes and the reified manifest', () => {
    const spec = parseRunArgs(['--volume=data,kind=host,source=/srv', '--set-env-file=/env', PROBE.name, '--annotation=example.com/a=1', BUSYBOX.name, '--name=shell', '--readonly-rootfs'], 'run');
    const o = opts({ '/env': 'FROM_FILE=1\n' });
    const r = resolvePod(spec, [PROBE, BUSYBOX], o);
    expect(r.apps.map((a) => [a.name, a.exec, a.env, a.mounts])).toEqual([
      ['probe', ['/probe'], [['FROM_FILE', '1'], ['AC_APP_NAME', 'probe'], ['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ['container', 'capsule']], [{ volume: 'data', path: '/data', readOnly: false }]],
      ['shell', ['/bin/sh'], [['FROM_FILE', '1'], ['AC_APP_NAME', 'shell'], ['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ['container', 'capsule']], []],
    ]);
    expect(r.volumes).toEqual([{ name: 'data', kind: 'host', source: '/srv', readOnly: false, recursive: true, mode: '0755', uid: 0, gid: 0 }]);
    expect(o.reads).toEqual(['/trees/a/etc/passwd', '/trees/a/etc/group']);
    expect(r.manifest).toEqual({
      acKind: 'PodManifest',
      acVersion: '0.8.11',
      apps: [
        {
          name: 'probe',
          image: { id: PROBE.id, name: PROBE.name, labels: [{ name: 'version', value: '1.0' }, { name: 'os', value: 'linux' }, { name: 'arch', value: 'amd64' }] },
          app: { exec: ['/probe'], user: 'root', group: 'root', mountPoints: [{ name: 'data', path: '/data' }], environment: [{ name: 'FROM_FILE', value: '1' }] },
          readOnlyRootFS: false,
          mounts: [{ volume: 'data', path: '/data' }],
          annotations: [{ name: 'example.com/a', value: '1' }],
        },
        {
          name: 'shell',
          image: { id: BUSYBOX.id, name: BUSYBOX.name, labels: [{ name: 'version', value: '1.0' }, { name: 'os', value: 'linux' }, { name: 'arch', value: 'amd64' }] },
          app: { exec: ['/bin/sh'], user: '0', group: '0', environment: [{ name: 'FROM_FILE', value: '1' }] },
          readOnlyRootFS: true,
          mounts: [],
          annotations: [],
        },
      ],
      volumes: [{ name: 'data', kind: 'host', source: '/srv', readOnly: false, recursive: true }],
      isolators: [],
      annotations: [],
      ports: [],
      userAnnotations: {},
      userLabels: {},
    });
  });

  it('implicit volumes join the pod (fly: host volumes not recursive)', () => {
    const spec = parseRunArgs(['--stage1=fly', '--volume=h,kind=host,source=/h', PROBE.name], 'run');
    const o = opts();
    const r = resolvePod(spec, [PROBE], o);
    expect(r.volumes).toEqual([
      { name: 'h', kind: 'host', source: '/h', readOnly: false, recursive: false, mode: '0755', uid: 0, gid: 0 },
      { name: 'probe-data', kind: 'empty', readOnly: false, recursive: false, mode: '0755', uid: 0, gid: 0, prefill: { app: 'probe', path: expect.stringMatching(/^\//) as string } },
    ]);
    expect(r.manifest.volumes).toEqual([
      { name: 'h', kind: 'host', source: '/h', readOnly: false, recursive: false },
      { name: 'probe-data', kind: 'empty', readOnly: false, mode: '0755', uid: 0, gid: 0 },
    ]);
    expect(r.manifest.apps[0]?.mounts).toEqual([{ volume: 'probe-data', path: '/data' }]);
    expect(o.warnings).toHaveLength(1);
  });

  it('env files: merged in order, a key in two files is an error', () => {
    const spec = parseRunArgs(['--set-env-file=/a', '--set-env-file=/b', BUSYBOX.name], 'run');
    expect(resolvePod(spec, [BUSYBOX], opts({ '/a': 'A=1\n', '/b': 'B=2\n' })).apps[0]?.env.slice(0, 2)).toEqual([['A', '1'], ['B', '2']]);
    expect(() => resolvePod(spec, [BUSYBOX], opts({ '/a': 'A=1\n', '/b': 'A=2\n' }))).toThrow('environment variable "A" already set (file "/b")');
  });

  const errors: [string, string[], (AppImage & { rootfs: string })[], string, Record<string, string>?][] = [
    ['duplicate default names', [PROBE.name, PROBE.name], [PROBE, PROBE], 'multiple apps with name probe'],
    ['duplicate --name', [PROBE.name, '--name=x', BUSYBOX.name, '--name=x'], [PROBE, BUSYBOX], 'multiple apps with name x'],
    ['--name against a default', [PROBE.name, BUSYBOX.name, '--name=probe'], [PROBE, BUSYBOX], 'multiple apps with name probe'],
    ['an implicit volume name taken', ['--volume=probe-data,kind=empty', PROBE.name], [PROBE], 'duplicate volume name "probe-data"'],
    ['an unreadable env file', ['--set-env-file=/missing', BUSYBOX.name], [BUSYBOX], 'reading --set-env-file "/missing"'],
    ['a bad env file', ['--set-env-file=/bad', BUSYBOX.name], [BUSYBOX], '/bad:1: environment variable must be specified as name=value', { '/bad': 'oops\n' }],
    ['image without app', [image('example.com/data', 'c').name], [image('example.com/data', 'c')], 'image "example.com/data" has no app section; use --exec'],
  ];
  for (const [what, argv, imgs, msg, files] of errors) {
    it(`error: ${what}`, () => expect(() => resolvePod(parseRunArgs(argv, 'run'), imgs, opts(files))).toThrow(msg));
  }

  it('a usage error for duplicate names', () => expect(() => resolvePod(parseRunArgs([PROBE.name, PROBE.name], 'run'), [PROBE, PROBE], opts())).toThrow(UsageError));
  it('the env file read failure keeps its cause', () => {
    try {
      resolvePod(parseRunArgs(['--set-env-file=/missing', BUSYBOX.name], 'run'), [BUSYBOX], opts());
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CapsuleError);
      expect(((e as Error).cause as Error).message).toContain('ENOENT');
    }
  });
  it('refuses a --pod-manifest spec', () => expect(() => resolvePod(parseRunArgs(['--pod-manifest=/pm'], 'run'), [], opts())).toThrow('a --pod-manifest pod is resolved by resolvePodManifest'));
});

describe('--pod-manifest', () => {
  const pm = (o: Record<string, unknown>): string => JSON.stringify({ acKind: 'PodManifest', acVersion: '0.8.11', ...o });

  it('parses and resolves; the app object replaces the image’s', () => {
    const text = pm({
      apps: [
        {
          name: 'web',
          image: { id: PROBE.id, name: 'ignored' },
          app: { exec: ['/probe', '--web'], user: '0', group: '0', mountPoints: [{ name: 'data', path: '/data' }] },
          readOnlyRootFS: true,
          mounts: [{ volume: 'data', path: '/data' }],
          annotations: [{ name: 'a', value: 'b' }],
        },
        { name: 'sh', image: { id: 'sha512-bbbb' }, mounts: [{ volume: 'inline', path: '/in/', appVolume: { name: 'inline', kind: 'empty', mode: '0700' } }] },
      ],
      volumes: [{ name: 'data', kind: 'host', source: '/srv', readOnly: true }],
      isolators: [{ name: 'os/unix/sysctl', value: { 'net.ipv4.ip_forward': '1' } }],
      userAnnotations: { team: 'x' },
      userLabels: { tier: 'web' },
      ports: [{ name: 'http', hostPort: 8080 }],
    });
    const parsed = parsePodManifest(text);
    expect(parsed.apps.map((a) => [a.name, a.imageId, a.readOnlyRootFS, a.mounts])).toEqual([
      ['web', PROBE.id, true, [{ volume: 'data', path: '/data' }]],
      ['sh', 'sha512-bbbb', false, [{ volume: 'inline', path: '/in' }]],
    ]);
    const o = opts();
    const r = resolvePodManifest(parsed, parseRunArgs(['--pod-manifest=/pm'], 'run'), [PROBE, BUSYBOX], o);
    expect(r.apps.map((a) => [a.name, a.exec, a.readOnlyRootfs, a.mounts])).toEqual([
      ['web', ['/probe', '--web'], true, [{ volume: 'data', path: '/data', readOnly: true }]],
      ['sh', ['/bin/sh'], false, [{ volume: 'inline', path: '/in', readOnly: false }]],
    ]);
    expect(r.volumes.map((v) => [v.name, v.kind, v.readOnly, v.mode])).toEqual([
      ['data', 'host', true, '0755'],
      ['inline', 'empty', false, '0700'],
    ]);
    expect(o.warnings).toEqual(['isolator "os/unix/sysctl" is not supported and was ignored']);
    expect(r.manifest).toMatchObject({
      apps: [
        { name: 'web', image: { id: PROBE.id, name: PROBE.name }, readOnlyRootFS: true, annotations: [{ name: 'a', value: 'b' }] },
        { name: 'sh', image: { id: BUSYBOX.id, name: BUSYBOX.name }, readOnlyRootFS: false, annotations: [] },
      ],
      isolators: [{ name: 'os/unix/sysctl', value: { 'net.ipv4.ip_forward': '1' } }],
      userAnnotations: { team: 'x' },
      userLabels: { tier: 'web' },
      ports: [{ name: 'http', hostPort: 8080 }],
    });
  });

  const bad: [string, string, string][] = [
    ['not JSON', '{', 'pod manifest: not valid JSON:'],
    ['not an object', '[]', 'pod manifest: must be an object'],
    ['wrong kind', JSON.stringify({ acKind: 'ImageManifest', acVersion: '0.8.11', apps: [] }), 'pod manifest: missing or bad ACKind (must be "PodManifest")'],
    ['no version', JSON.stringify({ acKind: 'PodManifest', apps: [] }), 'pod manifest: acVersion: acVersion must be set'],
    ['no apps', pm({ apps: [] }), 'pod must contain at least one application'],
    ['apps missing', pm({}), 'pod must contain at least one application'],
    ['no image ID', pm({ apps: [{ name: 'x', image: { name: 'example.com/x' } }] }), 'no image ID for app "x"'],
    ['no image at all', pm({ apps: [{ name: 'x' }] }), 'no image ID for app "x"'],
    ['bad image ID', pm({ apps: [{ name: 'x', image: { id: 'sha256-00' } }] }), 'pod manifest: apps[0].image.id: badly formatted image ID "sha256-00"'],
    ['bad app name', pm({ apps: [{ name: 'X', image: { id: 'sha512-aa' } }] }), 'pod manifest: apps[0].name: "X" must contain only lower case alphanumeric characters plus "-" and start and end with an alphanumeric character'],
    ['duplicate app names', pm({ apps: [{ name: 'x', image: { id: 'sha512-aa' } }, { name: 'x', image: { id: 'sha512-bb' } }] }), 'multiple apps with same name x'],
    ['bad app object', pm({ apps: [{ name: 'x', image: { id: 'sha512-aa' }, app: { exec: ['/x'], group: '0' } }] }), 'pod manifest: apps[0].app.user: user is required'],
    ['bad volume kind', pm({ apps: [{ name: 'x', image: { id: 'sha512-aa' } }], volumes: [{ name: 'v', kind: 'nfs' }] }), 'pod manifest: volumes[0]: unrecognized volume kind: should be one of "empty", "host"'],
    ['host volume without source', pm({ apps: [{ name: 'x', image: { id: 'sha512-aa' } }], volumes: [{ name: 'v', kind: 'host' }] }), 'pod manifest: volumes[0]: source for host volume cannot be empty'],
    ['duplicate volumes', pm({ apps: [{ name: 'x', image: { id: 'sha512-aa' } }], volumes: [{ name: 'v', kind: 'empty' }, { name: 'v', kind: 'empty' }] }), 'duplicate volume name "v"'],
    ['relative mount path', pm({ apps: [{ name: 'x', image: { id: 'sha512-aa' }, mounts: [{ volume: 'v', path: 'rel' }] }], volumes: [{ name: 'v', kind: 'empty' }] }), 'pod manifest: apps[0].mounts[0].path: must be an absolute path without ".." segments'],
    ['readOnlyRootFS not a bool', pm({ apps: [{ name: 'x', image: { id: 'sha512-aa' }, readOnlyRootFS: 'yes' }] }), 'pod manifest: apps[0].readOnlyRootFS: must be true or false'],
  ];
  for (const [what, text, msg] of bad) it(`error: ${what}`, () => expect(() => parsePodManifest(text)).toThrow(msg));

  const resolveErrors: [string, string, (AppImage & { rootfs: string })[], string, string[]?][] = [
    ['no app anywhere', pm({ apps: [{ name: 'x', image: { id: 'sha512-cc' } }] }), [image('example.com/data', 'c')], 'no app section in the pod manifest or the image manifest'],
    ['dangling mount', pm({ apps: [{ name: 'x', image: { id: 'sha512-bb' }, mounts: [{ volume: 'nope', path: '/n' }] }] }), [BUSYBOX], 'dangling mount point "/n": volume "nope" not found'],
    ['interactive with two apps', pm({ apps: [{ name: 'x', image: { id: 'sha512-bb' } }, { name: 'y', image: { id: 'sha512-bb' } }] }), [BUSYBOX, BUSYBOX], 'interactive option only supports pods with one app', ['--pod-manifest=/pm', '--interactive']],
  ];
  for (const [what, text, imgs, msg, argv] of resolveErrors) {
    it(`error: ${what}`, () => expect(() => resolvePodManifest(parsePodManifest(text), parseRunArgs(argv ?? ['--pod-manifest=/pm'], 'run'), imgs, opts())).toThrow(msg));
  }
});
