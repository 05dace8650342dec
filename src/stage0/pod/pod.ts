import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../../errors/capsule-error.js';
import { crashPoint, testPause } from '../../sys/crash-point.js';
import { isSupportedInterface, podLockPath, POD_FILES, type PodRuntime } from '../../stage1/contract.js';
import { installInherited, isPodLocked, lockInherited, lockPod, type PodLock } from './pod-lock.js';
import { POD_DIRS, stateName, TRANSITIONS, type PodDir, type PodStateName } from './pod-state.js';
import { isPodUuid, matchUuid, newPodUuid } from './pod-uuid.js';

export { newPodUuid } from './pod-uuid.js';

/** The descriptor and file the `capsule` wrapper opened for the pod lock (CAPSULE_LOCK_FD, CAPSULE_LOCK_PENDING). */
export interface InheritedLock {
  fd: number;
  pendingPath: string;
  /** The wrapper already took the exclusive lock on it (`flock -n 3`, CAPSULE_LOCK_HELD=1). */
  held?: boolean;
}

/** A transition asked from the wrong state, or without the lock: a bug in the caller, not a user error. */
export class PodTransitionBug extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PodTransitionBug';
  }
}

const DIR_MODE = 0o750;

export function podsDir(dataDir: string, dir: PodDir): string {
  return path.join(dataDir, 'pods', dir);
}

export function podPath(dataDir: string, dir: PodDir, uuid: string): string {
  return path.join(dataDir, 'pods', dir, uuid);
}

/** The UUIDs in one state directory (none when it does not exist). */
export function listPodDir(dataDir: string, dir: PodDir): string[] {
  try {
    return fs.readdirSync(podsDir(dataDir, dir)).filter(isPodUuid);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * Where a pod is now. States are checked in lifecycle order, the direction pods move, so a pod
 * renamed while we look is seen in its new place rather than missed; a miss is retried.
 */
export function locatePod(dataDir: string, uuid: string): PodDir | null {
  for (let attempt = 0; attempt < 3; attempt++) {
    for (const d of POD_DIRS) if (fs.existsSync(podPath(dataDir, d, uuid))) return d;
  }
  return null;
}

/**
 * One pod directory and, when this process holds it, its lock. Transitions are guarded: each
 * needs the lock and the right starting state, and is one atomic rename.
 */
export class Pod {
  private lock: PodLock | null;
  private where: PodDir;

  constructor(
    readonly dataDir: string,
    readonly runtimeDir: string,
    readonly uuid: string,
    state: PodDir,
    lock: PodLock | null = null,
  ) {
    this.where = state;
    this.lock = lock;
  }

  /** The directory the pod is in (as of the last transition or refresh). */
  get state(): PodDir {
    return this.where;
  }

  get dir(): string {
    return podPath(this.dataDir, this.where, this.uuid);
  }

  get lockPath(): string {
    return podLockPath(this.runtimeDir, this.uuid);
  }

  get holdsLock(): boolean {
    return this.lock !== null;
  }

  /** Takes the pod lock exclusively; false when someone else holds it (and `wait` is false or timed out). */
  async lockExclusive(wait: boolean | number = false): Promise<boolean> {
    if (this.lock) return true;
    this.lock = await lockPod(this.runtimeDir, this.uuid, 'exclusive', wait);
    return this.lock !== null;
  }

  /** Whether the pod's lock is held, by us or by someone else. */
  async isLocked(): Promise<boolean> {
    return this.lock !== null || (await isPodLocked(this.runtimeDir, this.uuid));
  }

  /** rkt's state name, from the directory and the lock. */
  async stateName(): Promise<PodStateName> {
    return stateName(this.where, await this.isLocked());
  }

  async isRunning(): Promise<boolean> {
    return this.where === 'run' && (await this.isLocked());
  }

  /** Looks again where the pod is; false when it is gone. */
  refresh(): boolean {
    const d = locatePod(this.dataDir, this.uuid);
    if (d !== null) this.where = d;
    return d !== null;
  }

  /** embryo → prepare; only createPod does this. */
  toPreparing(): void {
    this.move('prepare', ['embryo']);
  }

  /** prepare → prepared (the lock stays held until releaseLock). */
  toPrepared(): void {
    this.move('prepared', ['prepare']);
  }

  /** prepare → run (run), or prepared → run after locking it (see openPreparedForRun). */
  toRun(): void {
    this.move('run', ['prepare', 'prepared']);
  }

  /** run (exited) → exited-garbage: the rename time (the dir's ctime) starts the grace period. */
  toExitedGarbage(): void {
    this.move('exited-garbage', ['run']);
  }

  /** embryo (its creator died), prepare (aborted) or prepared (expired or removed) → garbage. */
  toGarbage(): void {
    this.move('garbage', ['embryo', 'prepare', 'prepared']);
  }

  releaseLock(): void {
    const l = this.lock;
    this.lock = null;
    l?.release();
  }

  /** The held lock (gc removes its file when it deletes the pod). */
  heldLock(): PodLock | null {
    return this.lock;
  }

  private move(to: PodDir, from: readonly PodDir[]): void {
    if (!from.includes(this.where) || !TRANSITIONS[this.where].includes(to)) {
      throw new PodTransitionBug(`pod ${this.uuid}: transition ${this.where} → ${to} is not allowed (from ${from.join(' or ')} only)`);
    }
    if (!this.lock) throw new PodTransitionBug(`pod ${this.uuid}: transition ${this.where} → ${to} without holding the pod lock`);
    const src = this.dir;
    fs.mkdirSync(podsDir(this.dataDir, to), { recursive: true, mode: DIR_MODE });
    try {
      fs.renameSync(src, podPath(this.dataDir, to, this.uuid));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new CapsuleError('pod-moved', `pod "${this.uuid}" is no longer in ${this.where}/ (another process moved or removed it)`, { cause: e });
      throw new CapsuleError('pod-transition', `moving pod "${this.uuid}" from ${this.where}/ to ${to}/`, { cause: e });
    }
    this.where = to;
  }
}

/**
 * Makes a new pod: `pods/embryo/<uuid>` with `pod-created`, takes its lock (the wrapper's
 * inherited descriptor when given, whose file then becomes the pod's lock file), and moves it to
 * prepare/. Returns it in state prepare, locked.
 */
export async function createPod(o: { dataDir: string; runtimeDir: string; inheritedLock?: InheritedLock }): Promise<Pod> {
  const uuid = newPodUuid();
  // The lock first, then the directory: an embryo whose lock nobody holds is one whose creator
  // died (SIGKILL between mkdir and the move to prepare/), and gc moves it to garbage.
  let lock: PodLock | null = null;
  if (o.inheritedLock) {
    lock = installInherited(o.runtimeDir, uuid, await lockInherited(o.inheritedLock.fd, o.inheritedLock.pendingPath, o.inheritedLock.held === true));
  } else {
    lock = await lockPod(o.runtimeDir, uuid, 'exclusive', false);
    if (lock === null) throw new PodTransitionBug(`pod ${uuid}: the lock of a brand-new pod is held by someone else`);
  }
  const embryo = podPath(o.dataDir, 'embryo', uuid);
  try {
    fs.mkdirSync(podsDir(o.dataDir, 'embryo'), { recursive: true, mode: DIR_MODE });
    fs.mkdirSync(embryo, { mode: DIR_MODE });
    fs.writeFileSync(path.join(embryo, POD_FILES.created), '', { flag: 'wx', mode: 0o644 });
    crashPoint('pod-embryo');
    testPause('pod-embryo');
    const pod = new Pod(o.dataDir, o.runtimeDir, uuid, 'embryo', lock);
    pod.toPreparing();
    return pod;
  } catch (e) {
    fs.rmSync(embryo, { recursive: true, force: true });
    lock.release();
    throw e;
  }
}

/** All pod UUIDs in the given state directories. */
export function listPodUuids(dataDir: string, dirs: readonly PodDir[] = POD_DIRS): string[] {
  return dirs.flatMap((d) => listPodDir(dataDir, d));
}

/** rkt's UUID argument rules over every pod: unique case-insensitive prefix. Not locked. */
export function findPod(dataDir: string, runtimeDir: string, uuidArg: string): Promise<Pod> {
  try {
    const uuid = matchUuid(listPodUuids(dataDir), uuidArg);
    const where = locatePod(dataDir, uuid);
    if (where === null) throw new CapsuleError('pod-not-found', `no matches found for ${JSON.stringify(uuidArg)}`);
    return Promise.resolve(new Pod(dataDir, runtimeDir, uuid, where));
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

/**
 * run-prepared: the pod must be prepared; takes its lock, then moves it to run/. Of two
 * concurrent callers only one gets the lock and the rename; the other fails with "not prepared".
 * With an inherited lock the wrapper's file replaces the old lock file, while the old one is
 * still held, so the lock never looks free.
 */
export async function openPreparedForRun(o: { dataDir: string; runtimeDir: string; uuidArg: string; inheritedLock?: InheritedLock }): Promise<Pod> {
  const pod = await findPod(o.dataDir, o.runtimeDir, o.uuidArg);
  const notPrepared = (): CapsuleError => new CapsuleError('pod-not-prepared', `pod "${pod.uuid}" is not prepared`);
  if (pod.state !== 'prepared') throw notPrepared();
  const inherited = o.inheritedLock ? await lockInherited(o.inheritedLock.fd, o.inheritedLock.pendingPath, o.inheritedLock.held === true) : null;
  const old = await lockPod(o.runtimeDir, pod.uuid, 'exclusive', false);
  if (old === null) {
    inherited?.release();
    throw new CapsuleError('pod-not-prepared', `pod "${pod.uuid}" is not prepared`, { hint: 'another process is starting or removing it' });
  }
  const locked = new Pod(o.dataDir, o.runtimeDir, pod.uuid, 'prepared', old);
  try {
    locked.toRun();
  } catch (e) {
    old.release();
    inherited?.release();
    if (e instanceof CapsuleError && e.code === 'pod-moved') throw notPrepared();
    throw e;
  }
  if (!inherited) return locked;
  let lock: PodLock;
  try {
    lock = installInherited(o.runtimeDir, pod.uuid, inherited);
  } finally {
    old.release();
  }
  return new Pod(o.dataDir, o.runtimeDir, pod.uuid, 'run', lock);
}

/** The pod's runtime.json (written by stage0), checked against the contract versions we speak. */
export function readPodRuntime(pod: Pod | string): PodRuntime {
  const file = path.join(typeof pod === 'string' ? pod : pod.dir, POD_FILES.runtime);
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CapsuleError('pod-runtime', `reading ${file}`, { cause: e });
  }
  const r = v as Partial<PodRuntime> | null;
  if (typeof r !== 'object' || r === null || typeof r.flavour !== 'string' || typeof r.interfaceVersion !== 'number' || !Array.isArray(r.apps)) {
    throw new CapsuleError('pod-runtime', `${file} is not a pod runtime description`);
  }
  if (!isSupportedInterface({ flavour: r.flavour, interfaceVersion: r.interfaceVersion })) {
    throw new CapsuleError('stage1-interface', `the pod was prepared for stage1 ${JSON.stringify(r.flavour)} interface version ${r.interfaceVersion}, which this capsule does not speak`);
  }
  return v as PodRuntime;
}
