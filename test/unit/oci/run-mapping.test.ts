import { describe, expect, it } from 'vitest';
import { configToApp, exposedPorts, parseEnv, volumeMountPoints } from '../../../src/oci/config-app.js';
import { parseImageConfig } from '../../../src/oci/manifest.js';
import { parseSignal } from '../../../src/spec/signals.js';
import { resolveOciUser } from '../../../src/stage0/run-args/image-ids.js';

const passwd = 'root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n';
const group = 'root:x:0:\nwww-data:x:33:\nappgrp:x:1001:\nstaff:x:50:app,web\naudio:x:29:app\n';
const read = (p: string): string | null => (p === 'etc/passwd' ? passwd : p === 'etc/group' ? group : null);

describe('OCI User (docker and podman rules)', () => {
  const cases: [string, { uid: number; gid: number; supplementaryGids: number[] }][] = [
    ['', { uid: 0, gid: 0, supplementaryGids: [] }],
    ['app', { uid: 1000, gid: 1001, supplementaryGids: [50, 29] }],
    ['1000', { uid: 1000, gid: 1001, supplementaryGids: [50, 29] }],
    ['4242', { uid: 4242, gid: 0, supplementaryGids: [] }],
    ['1000:33', { uid: 1000, gid: 33, supplementaryGids: [] }],
    ['app:www-data', { uid: 1000, gid: 33, supplementaryGids: [] }],
    ['33:appgrp', { uid: 33, gid: 1001, supplementaryGids: [] }],
    ['root', { uid: 0, gid: 0, supplementaryGids: [] }],
  ];
  for (const [u, want] of cases) it(JSON.stringify(u), () => expect(resolveOciUser(u, read)).toEqual(want));
  it('refuses names the image does not have', () => {
    expect(() => resolveOciUser('nobody', read)).toThrow(/user "nobody" not found in the image's \/etc\/passwd/);
    expect(() => resolveOciUser('app:wheel', read)).toThrow(/group "wheel" not found in the image's \/etc\/group/);
    expect(() => resolveOciUser('99999999999', read)).toThrow(/invalid user id/);
  });
  it('an image without /etc/passwd runs numeric users and root only', () => {
    expect(resolveOciUser('1000:1000', () => null)).toEqual({ uid: 1000, gid: 1000, supplementaryGids: [] });
    expect(() => resolveOciUser('app', () => null)).toThrow(/not found/);
  });
});

describe('StopSignal', () => {
  it('names, numbers and real-time signals', () => {
    expect(parseSignal('SIGQUIT')).toBe(3);
    expect(parseSignal('quit')).toBe(3);
    expect(parseSignal('9')).toBe(9);
    expect(parseSignal('SIGRTMIN+3')).toBe(37);
    expect(parseSignal('SIGRTMAX-1')).toBe(63);
    for (const bad of ['SIGNOPE', '0', '65', 'SIGRTMIN+40', '']) expect(() => parseSignal(bad)).toThrow(/invalid signal/);
  });
});

describe('config → appc app (docker2aci names)', () => {
  it('ports as rkt named them, volumes as mount points, env docker-style', () => {
    expect(exposedPorts({ '80/tcp': {}, '53/udp': {}, '8080': {}, '1-2/tcp': {}, '70000/tcp': {} })).toEqual([
      { name: '53-udp', protocol: 'udp', port: 53 },
      { name: '80-tcp', protocol: 'tcp', port: 80 },
      { name: '8080-tcp', protocol: 'tcp', port: 8080 },
    ]);
    expect(volumeMountPoints({ '/var/lib/data': {}, '/var/tmp': {}, 'relative': {} })).toEqual([
      { name: 'volume-var-lib-data', path: '/var/lib/data' },
      { name: 'volume-var-tmp', path: '/var/tmp' },
    ]);
    expect(parseEnv(['A=1', 'B', 'A=2', 'C=x=y'])).toEqual([['A', '2'], ['C', 'x=y']]);
  });
  it('keeps Entrypoint and Cmd apart for run, labels as annotations, os/arch labels', () => {
    const c = parseImageConfig(
      Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', config: { Entrypoint: ['/e'], Cmd: ['c'], User: 'app', StopSignal: 'SIGQUIT', Labels: { 'org.example.Team': 'core' }, WorkingDir: 'srv' }, rootfs: { type: 'layers', diff_ids: [] } })),
      'config',
    );
    const { manifest, run } = configToApp(c, { registry: 'localhost:5000', repository: 'team/app', tag: '1.0' }, 'sha256:' + 'a'.repeat(64));
    expect(run).toEqual({ entrypoint: ['/e'], cmd: ['c'], user: 'app', stopSignal: 'SIGQUIT' });
    expect(manifest.name).toBe('localhost-5000/team/app');
    expect(manifest.app?.exec).toEqual(['/e', 'c']);
    expect(manifest.app?.workingDirectory).toBe('/srv');
    expect(manifest.labels).toEqual(expect.arrayContaining([{ name: 'version', value: '1.0' }, { name: 'os', value: 'linux' }, { name: 'arch', value: 'amd64' }]));
    expect(manifest.annotations).toEqual(expect.arrayContaining([{ name: 'org.example.team', value: 'core' }, { name: 'appc.io/docker/stopsignal', value: 'SIGQUIT' }]));
  });
});
