import { describe, expect, it } from 'vitest';
import { CapsuleError } from '../../../src/errors/capsule-error.js';
import { parseImageManifest, validateImageManifest } from '../../../src/spec/image-manifest.js';

const base = { acKind: 'ImageManifest', acVersion: '0.8.11', name: 'example.com/app' };
const app = { exec: ['/bin/app'], user: '0', group: '0' };
const withApp = (extra: Record<string, unknown>): Record<string, unknown> => ({ ...base, app: { ...app, ...extra } });
const iso = (name: string, value: unknown): Record<string, unknown> => withApp({ isolators: [{ name, value }] });
const ID = `sha512-${'a'.repeat(128)}`;

/** Validation error, or undefined when the manifest is accepted. */
function errorOf(m: unknown): CapsuleError | undefined {
  try {
    validateImageManifest(m);
    return undefined;
  } catch (e) {
    if (!(e instanceof CapsuleError)) throw e;
    return e;
  }
}

describe('image manifest validation: each bad field gives an error naming it', () => {
  const cases: [string, unknown, string, RegExp?][] = [
    ['not an object', [], 'manifest'],
    ['missing acKind', { acVersion: '0.8.11', name: 'a' }, 'acKind', /missing or bad ACKind/],
    ['lower-case acKind', { ...base, acKind: 'imagemanifest' }, 'acKind'],
    ['PodManifest kind', { ...base, acKind: 'PodManifest' }, 'acKind'],
    ['missing acVersion', { acKind: 'ImageManifest', name: 'a' }, 'acVersion', /acVersion must be set/],
    ['zero acVersion', { ...base, acVersion: '0.0.0' }, 'acVersion', /SemVer cannot be zero/],
    ['two-part acVersion', { ...base, acVersion: '1.0' }, 'acVersion', /SemVer is bad/],
    ['v-prefixed acVersion', { ...base, acVersion: 'v0.8.11' }, 'acVersion'],
    ['acVersion latest', { ...base, acVersion: 'latest' }, 'acVersion'],
    ['numeric acVersion', { ...base, acVersion: 1 }, 'acVersion'],
    ['missing name', { acKind: 'ImageManifest', acVersion: '0.8.11' }, 'name', /name must be set/],
    ['upper-case name', { ...base, name: 'EXAMPLE.com' }, 'name', /lower case alphanumeric characters plus "-._~\/"/],
    ['name with #', { ...base, name: 'foo#' }, 'name'],
    ['name starting with -', { ...base, name: '-app' }, 'name', /start and end/],
    ['name ending with /', { ...base, name: 'app/' }, 'name'],
    ['name with .. segment', { ...base, name: 'example.com/../x' }, 'name'],
    ['labels not a list', { ...base, labels: {} }, 'labels'],
    ['duplicate label', { ...base, labels: [{ name: 'os', value: 'linux' }, { name: 'os', value: 'linux' }] }, 'labels', /duplicate labels of name "os"/],
    ['label called name', { ...base, labels: [{ name: 'name', value: 'x' }] }, 'labels', /invalid label name: "name"/],
    ['upper-case label name', { ...base, labels: [{ name: 'Version', value: '1' }] }, 'labels[0].name'],
    ['label value not a string', { ...base, labels: [{ name: 'version', value: 1 }] }, 'labels[0].value'],
    ['os windows', { ...base, labels: [{ name: 'os', value: 'windows' }] }, 'labels', /bad os "windows"/],
    ['linux arm64', { ...base, labels: [{ name: 'os', value: 'linux' }, { name: 'arch', value: 'arm64' }] }, 'labels', /bad arch "arm64" for linux/],
    ['freebsd armv7b', { ...base, labels: [{ name: 'os', value: 'freebsd' }, { name: 'arch', value: 'armv7b' }] }, 'labels', /bad arch/],
    ['app not an object', { ...base, app: 'run' }, 'app'],
    ['app without user', { ...base, app: { exec: ['/x'], group: '0' } }, 'app.user', /user is required/],
    ['app without group', { ...base, app: { exec: ['/x'], user: '0' } }, 'app.group', /group is required/],
    ['exec not a list', withApp({ exec: '/bin/app' }), 'app.exec'],
    ['exec with a number', withApp({ exec: ['/bin/app', 3] }), 'app.exec[1]'],
    ['relative workingDirectory', withApp({ workingDirectory: 'srv' }), 'app.workingDirectory', /absolute path/],
    ['env name starting with a digit', withApp({ environment: [{ name: '0DEBUG', value: '1' }] }), 'app.environment[0].name'],
    ['env name with a space', withApp({ environment: [{ name: 'FOO BAR', value: '1' }] }), 'app.environment[0].name'],
    ['empty env name', withApp({ environment: [{ name: '', value: '1' }] }), 'app.environment[0].name'],
    ['duplicate env', withApp({ environment: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] }), 'app.environment', /duplicate/],
    ['two pre-start handlers', withApp({ eventHandlers: [{ name: 'pre-start', exec: ['/a'] }, { name: 'pre-start', exec: ['/b'] }] }), 'app.eventHandlers', /only one eventHandler/],
    ['post-start handler', withApp({ eventHandlers: [{ name: 'post-start', exec: ['/a'] }] }), 'app.eventHandlers[0].name'],
    ['port 0', withApp({ ports: [{ name: 'http', protocol: 'tcp', port: 0 }] }), 'app.ports[0].port'],
    ['port 65536', withApp({ ports: [{ name: 'http', protocol: 'tcp', port: 65536 }] }), 'app.ports[0].port'],
    ['port range past 65535', withApp({ ports: [{ name: 'http', protocol: 'tcp', port: 65535, count: 2 }] }), 'app.ports[0]', /exceeds 65535/],
    ['port name Foo_Bar', withApp({ ports: [{ name: 'Foo_Bar', protocol: 'tcp', port: 80 }] }), 'app.ports[0].name'],
    ['port without protocol', withApp({ ports: [{ name: 'http', port: 80 }] }), 'app.ports[0].protocol'],
    ['mount point with relative path', withApp({ mountPoints: [{ name: 'data', path: 'data' }] }), 'app.mountPoints[0].path'],
    ['mount point readOnly "yes"', withApp({ mountPoints: [{ name: 'data', path: '/data', readOnly: 'yes' }] }), 'app.mountPoints[0].readOnly'],
    ['negative supplementary gid', withApp({ supplementaryGIDs: [-1] }), 'app.supplementaryGIDs[0]'],
    ['userLabels with a number', withApp({ userLabels: { a: 1 } }), 'app.userLabels.a'],
    ['cpu-shares 1', iso('os/linux/cpu-shares', 1), 'app.isolators[0]', /from 2 to 262144/],
    ['cpu-shares 262145', iso('os/linux/cpu-shares', 262145), 'app.isolators[0]'],
    ['oom-score-adj 1001', iso('os/linux/oom-score-adj', 1001), 'app.isolators[0]'],
    ['oom-score-adj -1001', iso('os/linux/oom-score-adj', -1001), 'app.isolators[0]'],
    ['empty seccomp set', iso('os/linux/seccomp-remove-set', { set: [] }), 'app.isolators[0]'],
    ['bad errno', iso('os/linux/seccomp-remove-set', { set: ['reboot'], errno: 'enotsup' }), 'app.isolators[0]', /errno/],
    ['empty capability set', iso('os/linux/capabilities-retain-set', { set: [] }), 'app.isolators[0]'],
    ['selinux user with :', iso('os/linux/selinux-context', { user: 'a:b', role: 'r', type: 't', level: 's0' }), 'app.isolators[0]'],
    ['empty apparmor profile', iso('os/linux/apparmor-profile', { profile: '' }), 'app.isolators[0]'],
    ['memory with default true', iso('resource/memory', { default: true, limit: '1G' }), 'app.isolators[0]'],
    ['bad memory quantity', iso('resource/memory', { limit: '1 gig' }), 'app.isolators[0]', /bad quantity/],
    ['network-bandwidth without default', iso('resource/network-bandwidth', { limit: '1M' }), 'app.isolators[0]'],
    ['both seccomp sets', withApp({ isolators: [{ name: 'os/linux/seccomp-remove-set', value: { set: ['reboot'] } }, { name: 'os/linux/seccomp-retain-set', value: { set: ['read'] } }] }), 'app.isolators', /incompatible/],
    ['two seccomp remove sets', withApp({ isolators: [{ name: 'os/linux/seccomp-remove-set', value: { set: ['reboot'] } }, { name: 'os/linux/seccomp-remove-set', value: { set: ['read'] } }] }), 'app.isolators', /too many/],
    ['dependencies not a list', { ...base, dependencies: {} }, 'dependencies'],
    ['empty dependency imageName', { ...base, dependencies: [{ imageName: '' }] }, 'dependencies[0].imageName', /imageName cannot be empty/],
    ['dependency without imageName', { ...base, dependencies: [{ imageID: ID }] }, 'dependencies[0].imageName'],
    ['sha256 dependency ID', { ...base, dependencies: [{ imageName: 'a', imageID: `sha256-${'a'.repeat(64)}` }] }, 'dependencies[0].imageID'],
    ['dependency ID "sha512"', { ...base, dependencies: [{ imageName: 'a', imageID: 'sha512' }] }, 'dependencies[0].imageID'],
    ['dependency ID "sha512-"', { ...base, dependencies: [{ imageName: 'a', imageID: 'sha512-' }] }, 'dependencies[0].imageID'],
    ['negative dependency size', { ...base, dependencies: [{ imageName: 'a', size: -1 }] }, 'dependencies[0].size'],
    ['dependency label os windows', { ...base, dependencies: [{ imageName: 'a', labels: [{ name: 'os', value: 'windows' }] }] }, 'dependencies[0].labels'],
    ['relative pathWhitelist entry', { ...base, pathWhitelist: ['/ok', 'etc/x'] }, 'pathWhitelist[1]'],
    ['pathWhitelist with newline', { ...base, pathWhitelist: ['/a\nb'] }, 'pathWhitelist[0]'],
    ['duplicate annotation', { ...base, annotations: [{ name: 'authors', value: 'a' }, { name: 'authors', value: 'b' }] }, 'annotations', /duplicate/],
    ['created with a space', { ...base, annotations: [{ name: 'created', value: '2014-10-27 19:32:27' }] }, 'annotations.created', /RFC 3339/],
    ['ftp homepage', { ...base, annotations: [{ name: 'homepage', value: 'ftp://example.com' }] }, 'annotations.homepage', /http\/https/],
    ['documentation without scheme', { ...base, annotations: [{ name: 'documentation', value: 'example.com/docs' }] }, 'annotations.documentation'],
  ];
  for (const [what, manifest, field, message] of cases) {
    it(`${what} → ${field}`, () => {
      const e = errorOf(manifest);
      expect(e, 'accepted but should fail').toBeDefined();
      expect(['invalid-manifest', 'invalid-name']).toContain(e!.code);
      expect(e!.message.startsWith(`${field}: `) || e!.message.startsWith(`${field} `), e!.message).toBe(true);
      if (message) expect(e!.message).toMatch(message);
    });
  }

  it('uses stable codes: invalid-manifest for fields, invalid-name for identifiers', () => {
    expect(errorOf({ ...base, acKind: 'x' })!.code).toBe('invalid-manifest');
    expect(errorOf({ ...base, name: 'Bad' })!.code).toBe('invalid-name');
  });
});

describe('image manifest validation: accepted manifests', () => {
  it('accepts the minimal manifest and keeps only known fields typed', () => {
    expect(validateImageManifest(base)).toEqual(base);
  });

  it('accepts a full manifest', () => {
    const full = {
      ...base,
      labels: [{ name: 'version', value: '1.0.0' }, { name: 'os', value: 'linux' }, { name: 'arch', value: 'amd64' }],
      app: {
        ...app,
        supplementaryGIDs: [10, 20],
        eventHandlers: [{ name: 'pre-start', exec: ['/pre'] }, { name: 'post-stop', exec: ['/post'] }],
        workingDirectory: '/srv',
        environment: [{ name: 'PATH', value: '/bin' }, { name: 'my.var-1', value: '' }],
        isolators: [
          { name: 'resource/memory', value: { limit: '512Mi' } },
          { name: 'resource/cpu', value: { request: '250m', limit: '500m' } },
          { name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_NET_BIND_SERVICE'] } },
          { name: 'os/linux/no-new-privileges', value: true },
          { name: 'os/linux/seccomp-retain-set', value: { set: ['@appc.io/all'], errno: 'EPERM' } },
          { name: 'resource/network-ponies', value: { any: 'thing' } },
        ],
        mountPoints: [{ name: 'data', path: '/data', readOnly: true }],
        ports: [{ name: 'http', protocol: 'tcp', port: 8080, count: 2, socketActivated: false }],
        userAnnotations: { team: 'x' },
        userLabels: { tier: 'web' },
      },
      dependencies: [{ imageName: 'example.com/base', imageID: ID, labels: [{ name: 'version', value: '1' }], size: 1024 }],
      pathWhitelist: ['/srv', '/bin/app'],
      annotations: [
        { name: 'created', value: '2014-10-27T19:32:27.67021798Z' },
        { name: 'homepage', value: 'https://example.com' },
        { name: 'authors', value: 'someone' },
      ],
    };
    const m = validateImageManifest(full);
    expect(m.app?.isolators).toHaveLength(6);
    expect(m.dependencies?.[0]?.imageID).toBe(ID);
    expect(m.pathWhitelist).toEqual(['/srv', '/bin/app']);
  });

  it('accepts the spec example spelling supplementaryGids', () => {
    expect(validateImageManifest(withApp({ supplementaryGids: [5] })).app?.supplementaryGIDs).toEqual([5]);
  });

  it('treats null and empty optional fields as absent', () => {
    const m = validateImageManifest({ ...base, labels: null, app: null, dependencies: null, pathWhitelist: null, annotations: null });
    expect(m).toEqual(base);
    expect(validateImageManifest(withApp({ workingDirectory: '' })).app?.workingDirectory).toBeUndefined();
  });

  it('accepts reference-lenient identifiers (consecutive separators, ~user paths)', () => {
    for (const name of ['a--b', 'example.com/~bob/database', 'sub-domain.example.com/org/product/~alice/release-1.0.0', 'my~database', 'zab_rab_oof']) {
      expect(validateImageManifest({ ...base, name }).name).toBe(name);
    }
  });
});

describe('parseImageManifest (JSON text)', () => {
  it('reports invalid JSON as a manifest error', () => {
    expect(() => parseImageManifest('{"acKind": ')).toThrow(/^manifest: not valid JSON/);
  });
  it('refuses deeply nested JSON before parsing it', () => {
    expect(() => parseImageManifest(`${'['.repeat(100)}${']'.repeat(100)}`)).toThrow(/nested deeper than/);
  });
  it('refuses manifests over the size limit', () => {
    expect(() => parseImageManifest(JSON.stringify({ ...base, pad: 'x'.repeat(1024 * 1024) }))).toThrow(/larger than/);
  });
  it('parses a valid manifest', () => {
    expect(parseImageManifest(JSON.stringify(base)).name).toBe('example.com/app');
  });
});
