import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach } from 'vitest';
import type { PodRuntime } from '../../src/stage1/contract.js';
import type { World } from '../helpers/cli.js';
import { PLATFORM_LABELS } from '../helpers/images.js';

/** Pods made by hand on disk (what run/prepare and stage1 would leave), for the pod commands' tests. */

export type FakePodDir = 'embryo' | 'prepare' | 'prepared' | 'run' | 'exited-garbage' | 'garbage';

export interface FakeApp {
  name: string;
  image?: string;
  version?: string;
  imageId?: string;
  treeId?: string;
  /** Writes status/<app> with this exit code. */
  exit?: number;
  /** Writes status/<app>.started. */
  started?: boolean;
  log?: string;
}

export interface FakePod {
  uuid?: string;
  apps?: FakeApp[];
  created?: Date;
  /** Writes `ppid` (mtime = start time). */
  ppid?: number;
  pid?: number;
  startedAt?: Date;
  nets?: Array<{ netName: string; ip: string }>;
  overlay?: boolean;
  /** Leave out runtime.json / pod. */
  noRuntime?: boolean;
  noManifest?: boolean;
}

let counter = 0;

/** A UUID with a chosen first block, so tests can pick prefixes. */
export function fakeUuid(first8?: string): string {
  counter++;
  const head = first8 ?? (Math.floor(Math.random() * 0xffffffff) >>> 0).toString(16).padStart(8, '0');
  const tail = `${process.pid.toString(16)}${counter.toString(16)}${Date.now().toString(16)}`.padStart(12, '0').slice(-12);
  return `${head}-0000-4000-8000-${tail}`;
}

export const imageIdOf = (n: number): string => `sha512-${n.toString(16).padStart(2, '0').repeat(64)}`;

export function fakePod(dataDir: string, where: FakePodDir, o: FakePod = {}): { uuid: string; dir: string } {
  const uuid = o.uuid ?? fakeUuid();
  const dir = path.join(dataDir, 'pods', where, uuid);
  fs.mkdirSync(dir, { recursive: true });
  const apps = o.apps ?? [{ name: 'app' }];
  const created = o.created ?? new Date();
  fs.writeFileSync(path.join(dir, 'pod-created'), '');
  fs.utimesSync(path.join(dir, 'pod-created'), created, created);
  if (!o.noManifest) {
    fs.writeFileSync(
      path.join(dir, 'pod'),
      JSON.stringify({
        acKind: 'PodManifest',
        acVersion: '0.8.11',
        apps: apps.map((a, i) => ({
          name: a.name,
          image: { name: a.image ?? `example.com/${a.name}`, id: a.imageId ?? imageIdOf(i + 1), labels: [...PLATFORM_LABELS, ...(a.version ? [{ name: 'version', value: a.version }] : [])] },
          app: { exec: ['/bin/true'], user: '0', group: '0' },
        })),
        volumes: [],
        isolators: [],
        annotations: [],
        ports: [],
      }),
    );
  }
  if (!o.noRuntime) {
    const runtime: PodRuntime = {
      interfaceVersion: 1,
      flavour: 'nspawn',
      uuid,
      apps: apps.map((a, i) => ({
        name: a.name,
        image: { id: a.imageId ?? imageIdOf(i + 1), name: a.image ?? `example.com/${a.name}`, treeId: a.treeId ?? `deps-sha512-${'0'.repeat(64)}` },
        exec: ['/bin/true'],
        env: [],
        uid: 0,
        gid: 0,
        supplementaryGids: [],
        workingDirectory: '/',
        readOnlyRootfs: false,
        capabilities: [],
        noNewPrivileges: true,
        seccomp: null,
        memoryLimit: null,
        cpuMilli: null,
        cpuShares: null,
        oomScoreAdj: null,
        mounts: [],
        supportsNotify: false,
      })),
      volumes: [],
      overlay: o.overlay ?? true,
      unmaskedPaths: false,
    };
    fs.writeFileSync(path.join(dir, 'runtime.json'), JSON.stringify(runtime));
  }
  fs.mkdirSync(path.join(dir, 'status'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  for (const a of apps) {
    if (a.started) fs.writeFileSync(path.join(dir, 'status', `${a.name}.started`), '');
    if (a.exit !== undefined) fs.writeFileSync(path.join(dir, 'status', a.name), `${a.exit}\n`);
    if (a.log !== undefined) fs.writeFileSync(path.join(dir, 'logs', `${a.name}.log`), a.log);
  }
  const started = o.startedAt ?? new Date();
  if (o.ppid !== undefined) {
    fs.writeFileSync(path.join(dir, 'ppid'), `${o.ppid}\n`);
    fs.utimesSync(path.join(dir, 'ppid'), started, started);
  }
  if (o.pid !== undefined) {
    fs.writeFileSync(path.join(dir, 'pid'), `${o.pid}\n`);
    fs.utimesSync(path.join(dir, 'pid'), started, started);
  }
  if (o.nets) fs.writeFileSync(path.join(dir, 'net-info.json'), JSON.stringify(o.nets));
  return { uuid, dir };
}

export function lockFileOf(runtimeDir: string, uuid: string): string {
  fs.mkdirSync(path.join(runtimeDir, 'pods'), { recursive: true });
  return path.join(runtimeDir, 'pods', `${uuid}.lock`);
}

export interface Holder {
  pid: number;
  child: ChildProcess;
  /** Ends the holder (and so releases the lock); waits until it is gone. */
  kill(sig?: NodeJS.Signals): Promise<void>;
}

/**
 * `hold(uuid)` for a test file: each holder it starts is ended after its test, and the world's
 * pods and lock files are removed then, so every test starts from an empty world.
 */
export function lockHolders(world: () => World): (uuid: string) => Promise<Holder> {
  const holders: Holder[] = [];
  afterEach(async () => {
    for (const h of holders.splice(0)) await h.kill();
    const w = world();
    fs.rmSync(path.join(w.dir, 'pods'), { recursive: true, force: true });
    fs.rmSync(w.runtimeDir, { recursive: true, force: true });
  });
  return async (uuid) => {
    const h = await holdLock(world().runtimeDir, uuid);
    holders.push(h);
    return h;
  };
}

/**
 * A process holding the pod's lock exclusively, as a running pod's stage1 does: a shell that
 * opens the lock file on fd 3, locks it, then execs `sleep` (so its PID is the holder, and
 * SIGTERM to it ends the pod).
 */
export async function holdLock(runtimeDir: string, uuid: string): Promise<Holder> {
  const file = lockFileOf(runtimeDir, uuid);
  const child = spawn('/bin/sh', ['-c', 'exec 3>>"$1"; flock -x 3; echo locked; exec sleep 120', 'sh', file], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const gone = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) resolve();
    });
    child.on('exit', () => reject(new Error('lock holder exited early')));
  });
  return {
    pid: child.pid!,
    child,
    async kill(sig: NodeJS.Signals = 'SIGKILL') {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* already gone */
      }
      await gone;
      await sleep(10);
    },
  };
}
