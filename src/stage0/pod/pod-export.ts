import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { writeAci } from '../../aci/build.js';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';
import { POD_FILES, type AppRuntime } from '../../stage1/contract.js';
import type { Pod } from './pod.js';
import { readPodRuntime } from './pod.js';
import { lockPod } from './pod-lock.js';
import { parsePodManifestView, type PodAppView } from './pod-manifest-view.js';
import { hasExited } from './pod-state.js';

export interface ExportOptions {
  /** The app to export; needed when the pod has several. */
  app?: string;
  out: string;
  overwrite: boolean;
  /** The image manifest (text) of a stored image, or null when it is no longer in the store. */
  storedManifest(imageId: string): Promise<string | null>;
  /** Told the pod's apps when it has several and none was chosen. */
  listApps(names: string[]): void;
}

/**
 * `export`: packs an exited pod's app, as the app left it, into an uncompressed ACI: its tree
 * with the overlay upper dir on top (overlayfs whiteouts and opaque dirs honoured by the kernel:
 * the two are mounted as a read-only overlay in a private mount namespace), or its private
 * copy with --no-overlay. The manifest is the app image's, without dependencies (the rootfs is
 * already flattened).
 */
export async function exportPod(pod: Pod, o: ExportOptions): Promise<void> {
  if (path.extname(o.out) !== '.aci') throw new UsageError(`extension must be .aci (given ${o.out})`);
  if (!o.overwrite && fs.existsSync(o.out)) throw new CapsuleError('exists', `${JSON.stringify(o.out)} already exists`, { hint: 'pass --overwrite to replace it' });
  // A shared lock keeps gc (exclusive) from deleting the pod while we read it.
  const lock = await lockPod(pod.runtimeDir, pod.uuid, 'shared', false);
  if (!lock) throw new CapsuleError('pod-not-exited', 'pod is not exited. Only exited pods can be exported');
  try {
    if (!pod.refresh() || !hasExited(await pod.stateName())) throw new CapsuleError('pod-not-exited', 'pod is not exited. Only exited pods can be exported');
    const view = parsePodManifestView(readPodFile(pod, POD_FILES.manifest));
    if (!view) throw new CapsuleError('pod-export', `problem getting the pod's manifest`);
    const app = chooseApp(view.apps, o);
    const runtime = readPodRuntime(pod);
    const rt = runtime.apps.find((a) => a.name === app.name);
    if (!rt) throw new CapsuleError('pod-export', `app ${app.name} is not in the pod's runtime.json`);
    const manifest = imageManifestText(app, await o.storedManifest(app.imageId));
    if (runtime.overlay) {
      const lower = path.join(pod.dataDir, 'tree', rt.image.treeId, 'rootfs');
      if (!fs.existsSync(lower)) throw new CapsuleError('pod-export', `the tree ${rt.image.treeId} of app ${app.name} is no longer in the store`);
      const upper = path.join(pod.dir, POD_FILES.appUpper(app.name));
      const hasUpper = fs.existsSync(upper) && fs.readdirSync(upper).length > 0;
      if (hasUpper) await withOverlay(pod, rt, upper, lower, (root) => writePodAci(root, manifest, o.out));
      else await writePodAci(lower, manifest, o.out);
    } else {
      const root = path.join(pod.dir, POD_FILES.appRootfs(app.name));
      if (!fs.existsSync(root)) throw new CapsuleError('pod-export', `app ${app.name} has no rootfs (${root})`);
      await writePodAci(root, manifest, o.out);
    }
  } finally {
    lock.release();
  }
}

function readPodFile(pod: Pod, rel: string): string {
  try {
    return fs.readFileSync(path.join(pod.dir, rel), 'utf8');
  } catch (e) {
    throw new CapsuleError('pod-export', `problem getting the pod's manifest`, { cause: e });
  }
}

function chooseApp(apps: PodAppView[], o: ExportOptions): PodAppView {
  if (o.app !== undefined) {
    const a = apps.find((x) => x.name === o.app);
    if (!a) throw new UsageError(`app ${o.app} is not present in pod`);
    return a;
  }
  const [only, ...more] = apps;
  if (!only) throw new CapsuleError('pod-export', 'pod contains zero apps');
  if (more.length === 0) return only;
  o.listApps(apps.map((a) => a.name));
  throw new UsageError('specify app using "capsule export --app= ..."');
}

/** The stored image's manifest, or one rebuilt from the pod manifest; dependencies dropped. */
function imageManifestText(app: PodAppView, stored: string | null): string {
  let m: Record<string, unknown> | null = null;
  if (stored !== null) {
    try {
      m = JSON.parse(stored) as Record<string, unknown>;
    } catch {
      m = null;
    }
  }
  m ??= {
    acKind: 'ImageManifest',
    acVersion: '0.8.11',
    name: app.imageName,
    labels: Object.entries(app.imageLabels).map(([name, value]) => ({ name, value })),
    ...(app.app !== undefined ? { app: app.app } : {}),
  };
  delete m.dependencies;
  delete m.pathWhitelist;
  return JSON.stringify(m);
}

/**
 * Runs `f` on the merged view of upper over lower. The overlay is mounted read-only by a child
 * in its own mount namespace and reached through /proc/<child>/root, so nothing is mounted on the
 * host and nothing is left mounted if we die: the namespace ends with the child, whose stdin we
 * hold.
 */
async function withOverlay<T>(pod: Pod, app: AppRuntime, upper: string, lower: string, f: (root: string) => Promise<T>): Promise<T> {
  if (/[,:\\]/.test(upper + lower)) throw new CapsuleError('pod-export', `cannot mount the overlay of app ${app.name}: its paths contain ',', ':' or '\\'`);
  const tmp = path.join(pod.dataDir, 'tmp');
  fs.mkdirSync(tmp, { recursive: true, mode: 0o700 });
  const mp = fs.mkdtempSync(path.join(tmp, 'export-'));
  const script = 'mount -t overlay overlay -o "$1" "$2" || exit 1; echo ready; exec cat >/dev/null';
  const child = spawn('unshare', ['-m', '--propagation', 'private', '/bin/sh', '-c', script, 'sh', `ro,lowerdir=${upper}:${lower}`, mp], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready\n')) resolve();
      });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', (e) => reject(new CapsuleError('pod-export', 'running unshare', { cause: e })));
      void exited.then((code) => reject(new CapsuleError('pod-export', `mounting the overlay of app ${app.name} failed (${String(code)}): ${err.trim()}`)));
    });
    if (child.pid === undefined) throw new CapsuleError('pod-export', 'running unshare');
    return await f(`/proc/${child.pid}/root${mp}`);
  } finally {
    child.stdin.end();
    await exited;
    fs.rmSync(mp, { recursive: true, force: true });
  }
}

/** The tree at `root` plus `manifest` as an uncompressed ACI, keeping what the app made (devices too). */
async function writePodAci(root: string, manifest: string, out: string): Promise<void> {
  await writeAci(root, { text: manifest, mtime: new Date() }, out, { compression: 'none', special: 'keep', what: 'pod-export' });
}
