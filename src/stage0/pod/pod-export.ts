import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeaderFields } from '../../aci/tar-writer.js';
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
      if (hasUpper) await withOverlay(pod, rt, upper, lower, (root) => writeAci(root, manifest, o.out));
      else await writeAci(lower, manifest, o.out);
    } else {
      const root = path.join(pod.dir, POD_FILES.appRootfs(app.name));
      if (!fs.existsSync(root)) throw new CapsuleError('pod-export', `app ${app.name} has no rootfs (${root})`);
      await writeAci(root, manifest, o.out);
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

interface Item {
  rel: string;
  st: fs.Stats;
}

/** Sorted depth-first walk with lstat, never following links (nor leaving the tree). */
function walk(root: string): Item[] {
  const out: Item[] = [];
  const visit = (rel: string): void => {
    for (const n of fs.readdirSync(rel === '' ? root : path.join(root, rel)).sort()) {
      const r = rel === '' ? n : `${rel}/${n}`;
      const st = fs.lstatSync(path.join(root, r));
      out.push({ rel: r, st });
      if (st.isDirectory()) visit(r);
    }
  };
  visit('');
  return out;
}

/** A Linux st_rdev split into major and minor (the glibc encoding). */
function devNumbers(rdev: number): { devmaj: number; devmin: number } {
  return { devmaj: (rdev >>> 8) & 0xfff, devmin: (rdev & 0xff) | ((rdev >>> 12) & 0xfff00) };
}

/** Writes `rootfs/…` from `root` plus `manifest` as an uncompressed ACI, atomically. */
async function writeAci(root: string, manifest: string, out: string): Promise<void> {
  const rootSt = fs.lstatSync(root);
  const items = walk(root);
  const inodes = new Map<string, string>();
  const meta = (st: fs.Stats): Pick<TarHeaderFields, 'mode' | 'uid' | 'gid' | 'mtime'> => ({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000) });

  // eslint-disable-next-line @typescript-eslint/require-await -- an async generator so Readable.from streams it with backpressure
  async function* tar(): AsyncGenerator<Buffer> {
    yield encodeHeader({ path: 'rootfs/', type: 'Directory', ...meta(rootSt) });
    for (const { rel, st } of items) {
      const name = `rootfs/${rel}`;
      const file = path.join(root, rel);
      if (st.isDirectory()) {
        yield encodeHeader({ path: `${name}/`, type: 'Directory', ...meta(st) });
      } else if (st.isSymbolicLink()) {
        yield encodeHeader({ path: name, type: 'SymbolicLink', ...meta(st), mode: 0o777, linkpath: fs.readlinkSync(file) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? inodes.get(key) : undefined;
        if (first !== undefined) {
          yield encodeHeader({ path: name, type: 'Link', ...meta(st), linkpath: first });
          continue;
        }
        if (st.nlink > 1) inodes.set(key, name);
        yield encodeHeader({ path: name, type: 'File', ...meta(st), size: st.size });
        const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        try {
          let left = st.size;
          while (left > 0) {
            const buf = Buffer.allocUnsafe(Math.min(left, 1024 * 1024));
            const n = fs.readSync(fd, buf, 0, buf.length, null);
            if (n === 0) throw new CapsuleError('pod-export', `${name} shrank while it was being read`);
            left -= n;
            yield buf.subarray(0, n);
          }
        } finally {
          fs.closeSync(fd);
        }
        yield padding(st.size);
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        yield encodeHeader({ path: name, type: st.isCharacterDevice() ? 'CharacterDevice' : 'BlockDevice', ...meta(st), ...devNumbers(st.rdev) });
      } else if (st.isFIFO()) {
        yield encodeHeader({ path: name, type: 'FIFO', ...meta(st) });
      }
      // Sockets cannot be archived; like tar, leave them out.
    }
    const m = Buffer.from(manifest);
    yield encodeHeader({ path: 'manifest', type: 'File', mode: 0o644, size: m.length, mtime: new Date(Math.floor(Date.now() / 1000) * 1000) });
    yield m;
    yield padding(m.length);
    yield END_OF_ARCHIVE;
  }

  const abs = path.resolve(out);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}.tmp`);
  try {
    await pipeline(Readable.from(tar()), fs.createWriteStream(tmp, { mode: 0o644 }));
    const h = await fs.promises.open(tmp, 'r+');
    await h.sync();
    await h.close();
    await fs.promises.rename(tmp, abs);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}
