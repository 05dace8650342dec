import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CAPSULE } from './cli.js';
import { manifestJson } from './images.js';

const APPLETS = ['sh', 'cat', 'ls', 'echo', 'mkdir', 'test', 'readlink', 'touch', 'stat', 'find'];

/**
 * Builds an image of Debian's static busybox with `app` as its manifest's app and whatever
 * `setup` adds to the rootfs (hostile symlinks, seed files); returns the .aci path (unsigned).
 */
export function busyboxImage(base: string, name: string, app: Record<string, unknown>, setup: (rootfs: string) => void = () => undefined): string {
  const dir = fs.mkdtempSync(path.join(base, 'image-'));
  const rootfs = path.join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
  setup(rootfs);
  fs.writeFileSync(path.join(dir, 'manifest'), manifestJson(`example.com/${name}`, { app: { exec: ['/bin/sh'], user: '0', group: '0', ...app } }));
  const out = path.join(base, `${name}.aci`);
  execFileSync(CAPSULE, ['image', 'build', '--overwrite', dir, out], { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}
