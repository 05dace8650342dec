import fs from 'node:fs';
import path from 'node:path';
import { POD_FILES } from '../../stage1/contract.js';
import { listPodDir, type Pod, podPath } from './pod.js';
import { exclusiveLockInodes } from '../../sys/flock.js';
import { probePodLocks } from './pod-lock.js';
import { probeLock } from '../../sys/flock.js';
import { onlyChildOf, readPidFile } from '../../sys/proc.js';
import { imageDisplayName, parsePodManifestView, type PodManifestView } from './pod-manifest-view.js';
import { lockMatters, stateName, type PodDir, type PodStateName } from './pod-state.js';

/** One network the pod joined (`net-info.json`, written by stage1); extra fields pass through. */
export interface NetInfo {
  netName: string;
  ip: string;
  [field: string]: unknown;
}

export interface AppStatus {
  name: string;
  /** rkt's IMAGE NAME: `name:version`. */
  imageName: string;
  imageId: string;
  /** From `status/<app>`; null while the app runs or when it never started. */
  exitCode: number | null;
  /** mtime of `status/<app>.started` (ms), null when not started. */
  startedAt: number | null;
  /** mtime of `status/<app>` (ms), null when not finished. */
  finishedAt: number | null;
}

export interface PodStatus {
  uuid: string;
  /** The pod directory (as of the reading). */
  dir: string;
  podDir: PodDir;
  state: PodStateName;
  /** mtime of `pod-created`, ms. */
  created: number | null;
  /** mtime of `ppid` or `pid`, ms: when stage1 started the pod. */
  started: number | null;
  /** ctime of the exited-garbage directory (when gc marked it), ms. */
  gcMarked: number | null;
  /** The pod's main process: `pid`, or (while running) the only child of `ppid`. Only with `pid: true`. */
  pid: number | null;
  networks: NetInfo[];
  /** --private-users: the host uids the pod's 0…size-1 are (from runtime.json), else null. */
  privateUsers: { base: number; size: number } | null;
  manifest: PodManifestView | null;
  apps: AppStatus[];
}

const mtime = (p: string): number | null => fs.statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? null;

function readInt(p: string): number | null {
  let s: string;
  try {
    s = fs.readFileSync(p, 'utf8').trim();
  } catch {
    return null;
  }
  return /^-?\d+$/.test(s) ? Number(s) : null;
}

function readNets(dir: string): NetInfo[] {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(path.join(dir, POD_FILES.netInfo), 'utf8'));
  } catch {
    return [];
  }
  if (!Array.isArray(v)) return [];
  return v.filter((n): n is NetInfo => typeof n === 'object' && n !== null && typeof (n as NetInfo).netName === 'string').map((n) => ({ ...n, ip: typeof n.ip === 'string' ? n.ip : '' }));
}

function readManifest(dir: string): PodManifestView | null {
  try {
    return parsePodManifestView(fs.readFileSync(path.join(dir, POD_FILES.manifest), 'utf8'));
  } catch {
    return null;
  }
}

/** The apps of the manifest (or, without one, those with a status file) and what `status/` says of them. */
function readApps(dir: string, manifest: PodManifestView | null): AppStatus[] {
  const statusDir = path.join(dir, POD_FILES.statusDir);
  let files: Set<string>;
  try {
    files = new Set(fs.readdirSync(statusDir));
  } catch {
    files = new Set();
  }
  const apps = manifest?.apps ?? [...files].filter((f) => !f.endsWith('.started') && !f.startsWith('.')).sort().map((name) => ({ name, imageName: '', imageId: '', imageLabels: {}, app: undefined }));
  return apps.map((a) => {
    const done = files.has(a.name);
    return {
      name: a.name,
      imageName: imageDisplayName(a),
      imageId: a.imageId,
      exitCode: done ? readInt(path.join(dir, POD_FILES.appStatus(a.name))) : null,
      startedAt: files.has(`${a.name}.started`) ? mtime(path.join(dir, POD_FILES.appStarted(a.name))) : null,
      finishedAt: done ? mtime(path.join(dir, POD_FILES.appStatus(a.name))) : null,
    };
  });
}

/** `pid` as stage1 wrote it; or, while the pod runs, the pod's init: the only child of `ppid` (nspawn). */
export function podPid(dir: string, running: boolean): number | null {
  const pid = readPidFile(path.join(dir, POD_FILES.pid));
  if (pid !== null) return pid;
  if (!running) return null;
  const ppid = readPidFile(path.join(dir, POD_FILES.ppid));
  return ppid === null ? null : onlyChildOf(ppid);
}

/** When the lock file cannot be opened (an unprivileged caller): is the pod's recorded process alive? */
function processAlive(dir: string): boolean {
  for (const f of [POD_FILES.ppid, POD_FILES.pid]) {
    const pid = readPidFile(path.join(dir, f));
    if (pid !== null && fs.existsSync(`/proc/${pid}`)) return true;
  }
  return false;
}

/**
 * stage1 recorded a process (`ppid`/`pid`) and it is gone: the pod has ended, whatever its lock
 * says a few milliseconds longer. Lets `list` skip the flock(1) test of exited pods where
 * /proc/locks cannot answer. No file: not known (e.g. stage1 is still starting).
 */
function recordedProcessGone(dir: string): boolean {
  for (const f of [POD_FILES.ppid, POD_FILES.pid]) {
    const pid = readPidFile(path.join(dir, f));
    if (pid !== null) return !fs.existsSync(`/proc/${pid}`);
  }
  return false;
}

function readPrivateUsers(dir: string): { base: number; size: number } | null {
  try {
    const r = (JSON.parse(fs.readFileSync(path.join(dir, POD_FILES.runtime), 'utf8')) as { privateUsers?: { base?: unknown; size?: unknown } }).privateUsers;
    return r && typeof r.base === 'number' && typeof r.size === 'number' ? { base: r.base, size: r.size } : null;
  } catch {
    return null;
  }
}

function readStatus(uuid: string, podDir: PodDir, dir: string, locked: boolean | null, withPid: boolean): PodStatus {
  const isLocked = locked ?? processAlive(dir);
  const state = stateName(podDir, isLocked);
  const manifest = readManifest(dir);
  const started = mtime(path.join(dir, POD_FILES.ppid)) ?? mtime(path.join(dir, POD_FILES.pid));
  return {
    uuid,
    dir,
    podDir,
    state,
    created: mtime(path.join(dir, POD_FILES.created)),
    started,
    gcMarked: podDir === 'exited-garbage' ? (fs.statSync(dir, { throwIfNoEntry: false })?.ctimeMs ?? null) : null,
    pid: withPid ? podPid(dir, state === 'running') : null,
    networks: readNets(dir),
    privateUsers: readPrivateUsers(dir),
    manifest,
    apps: readApps(dir, manifest),
  };
}

/** Everything `status` shows of one pod, its lock tested with flock(1). */
export async function podStatus(pod: Pod): Promise<PodStatus> {
  // null when we may not test the lock (unprivileged): readStatus then asks whether the pod's process lives.
  const locked = !lockMatters(pod.state) ? false : pod.holdsLock ? true : await probeLock(pod.lockPath);
  return readStatus(pod.uuid, pod.state, pod.dir, locked, true);
}

/** The directories `list` walks (rkt's): not embryo, not garbage. */
export const LISTED_DIRS: readonly PodDir[] = ['prepare', 'prepared', 'run', 'exited-garbage'];

/**
 * Every pod in `dirs`, in directory then UUID order (rkt's). Locks are tested in one batch
 * (probePodLocks: one read of /proc/locks, flock(1) only for pods that look locked), so the cost
 * is a few file reads per pod. Where /proc/locks cannot answer, exited pods whose recorded process
 * is gone are not tested either. Pods that vanish while we read (gc) are left out.
 */
export async function listPodStatuses(
  dataDir: string,
  runtimeDir: string,
  dirs: readonly PodDir[] = LISTED_DIRS,
  /** For tests: the /proc/locks answer (null: as where it cannot be trusted). */
  lockTable: ReadonlySet<number> | null = exclusiveLockInodes(),
): Promise<PodStatus[]> {
  const found: Array<{ uuid: string; dir: PodDir }> = [];
  for (const d of dirs) for (const uuid of listPodDir(dataDir, d).sort()) found.push({ uuid, dir: d });
  const held = lockTable;
  const test = found.filter((p) => lockMatters(p.dir) && (held !== null || p.dir !== 'run' || !recordedProcessGone(podPath(dataDir, p.dir, p.uuid))));
  const locks = await probePodLocks(
    runtimeDir,
    test.map((p) => p.uuid),
    held,
  );
  const out: PodStatus[] = [];
  for (const p of found) {
    const dir = podPath(dataDir, p.dir, p.uuid);
    if (!fs.existsSync(dir)) continue;
    // null (we may not test the lock) must reach readStatus as null, not become false.
    const locked = lockMatters(p.dir) && locks.has(p.uuid) ? (locks.get(p.uuid) as boolean | null) : false;
    out.push(readStatus(p.uuid, p.dir, dir, locked, true));
  }
  return out;
}

