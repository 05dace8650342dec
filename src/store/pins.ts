import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { lockFile, probeLock } from '../sys/flock.js';
import { makeDirs } from '../sys/shared-dir.js';
import type { Store } from './store.js';

/**
 * A pin: "this live process is about to use these images and trees". `run` and `prepare` take
 * one under the store lock (shared) in the same hold in which they find or render a tree, and
 * drop it only once the pod's runtime.json (which names the trees) is on disk; `image gc` and
 * `image rm` read pins and pods under the exclusive store lock. So no tree a pod is about to use
 * is removed in the window before the pod records it (issue 12 §5). A pin is a file in
 * `locks/pins/` exclusively flock'ed by its process: the kernel drops the lock when the process
 * dies (SIGKILL too), and the next gc removes the file.
 */
export interface Pin {
  add(images: readonly string[], trees: readonly string[]): void;
  release(): void;
}

const pinsDir = (store: Store): string => path.join(store.layout.locksDir, 'pins');

/** Creates this process's pin (empty). The caller holds the store lock, shared or exclusive. */
export async function createPin(store: Store): Promise<Pin> {
  const dir = pinsDir(store);
  makeDirs(dir, store.modes.writableDir);
  const file = path.join(dir, `${process.pid}-${randomBytes(8).toString('hex')}`);
  const lock = await lockFile(file, 'exclusive', false, store.modes.writableFile);
  if (lock === null) throw new Error(`pin ${file}: a brand-new lock file is locked by someone else`);
  const images = new Set<string>();
  const trees = new Set<string>();
  let released = false;
  return {
    add(i, t) {
      for (const x of i) images.add(x);
      for (const x of t) trees.add(x);
      // Rewritten whole through the locked descriptor; only read under the exclusive store lock,
      // which the writer's caller excludes by holding it shared.
      fs.ftruncateSync(lock.fd, 0);
      fs.writeSync(lock.fd, JSON.stringify({ images: [...images], trees: [...trees] }), 0);
    },
    release() {
      if (released) return;
      released = true;
      fs.rmSync(file, { force: true });
      lock.release();
    },
  };
}

/**
 * Images and trees held by live pins; pins of dead processes are removed. The caller holds the
 * store lock exclusively (no pin is being written then).
 */
export async function livePins(store: Store): Promise<{ images: Set<string>; trees: Set<string> }> {
  const images = new Set<string>();
  const trees = new Set<string>();
  const dir = pinsDir(store);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return { images, trees };
  }
  for (const name of names) {
    const file = path.join(dir, name);
    const held = await probeLock(file);
    if (held === false) {
      fs.rmSync(file, { force: true });
      continue;
    }
    // Held (or not ours to test): count it, whatever it holds.
    try {
      const v = JSON.parse(fs.readFileSync(file, 'utf8') || '{}') as { images?: unknown; trees?: unknown };
      for (const x of Array.isArray(v.images) ? v.images : []) if (typeof x === 'string') images.add(x);
      for (const x of Array.isArray(v.trees) ? v.trees : []) if (typeof x === 'string') trees.add(x);
    } catch {
      /* unreadable pin: it names nothing we could keep */
    }
  }
  return { images, trees };
}
