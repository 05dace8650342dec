import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';
import { POD_FILES, type PodRuntime } from '../stage1/contract.js';
import { prefillVolume } from './volume-prefill.js';

/**
 * Writes what stage0 owns in a pod directory (docs/stage1-contract.md): the manifest, runtime.json,
 * each app's overlay upper/work dirs (or a private copy of its tree with --no-overlay), `empty`
 * volumes, and the status and logs dirs stage1 fills.
 */
export function writePodFiles(podDir: string, treeDir: string, manifest: unknown, runtime: PodRuntime): void {
  fs.writeFileSync(path.join(podDir, POD_FILES.manifest), `${JSON.stringify(manifest)}\n`);
  fs.writeFileSync(path.join(podDir, POD_FILES.runtime), `${JSON.stringify(runtime)}\n`);
  for (const d of [POD_FILES.statusDir, POD_FILES.logsDir, POD_FILES.stage1Dir]) fs.mkdirSync(path.join(podDir, d), { recursive: true, mode: 0o755 });
  for (const a of runtime.apps) {
    fs.mkdirSync(path.join(podDir, POD_FILES.appDir(a.name)), { recursive: true, mode: 0o700 });
    if (runtime.overlay) {
      fs.mkdirSync(path.join(podDir, POD_FILES.appUpper(a.name)), { mode: 0o755 });
      fs.mkdirSync(path.join(podDir, POD_FILES.appWork(a.name)), { mode: 0o700 });
    } else {
      const src = path.join(treeDir, a.image.treeId, 'rootfs');
      const dst = path.join(podDir, POD_FILES.appRootfs(a.name));
      try {
        // cp keeps owners, modes, links and xattrs; --reflink shares blocks where the fs can.
        execFileSync('/bin/cp', ['-a', '--reflink=auto', '--', src, dst], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (e) {
        throw new CapsuleError('pod-prepare', `copying the rootfs of app ${a.name}`, { cause: e });
      }
      fs.chmodSync(dst, 0o755);
    }
  }
  const vols = runtime.volumes.filter((v) => v.kind === 'empty');
  if (vols.length > 0) fs.mkdirSync(path.join(podDir, POD_FILES.volumes), { mode: 0o755 });
  for (const v of vols) {
    const p = path.join(podDir, POD_FILES.volume(v.name));
    fs.mkdirSync(p, { mode: parseInt(v.mode, 8) });
    fs.chmodSync(p, parseInt(v.mode, 8));
    fs.chownSync(p, v.uid, v.gid);
    const app = v.prefill && runtime.apps.find((a) => a.name === v.prefill?.app);
    if (v.prefill && app) prefillVolume(path.join(treeDir, app.image.treeId, 'rootfs'), v.prefill.path, p);
  }
}
