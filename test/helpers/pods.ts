import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { CAPSULE, makeWorld, type RunResult, type World } from './cli.js';
import { sampleImage } from './images.js';

/** Why pod tests cannot run here, or null when they can (root and systemd-nspawn). */
export function podSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'pod tests need root';
  if (!fs.existsSync('/usr/bin/systemd-nspawn')) return 'pod tests need systemd-nspawn (apt-get install systemd-container)';
  return null;
}

export interface PodWorld extends World {
  /** Image IDs of the sample images, fetched into this world's store. */
  probe: string;
  busybox: string;
  /** `capsule run` of the probe image with per-app flags and probe args. */
  probeRun(podFlags: string[], appFlags: string[], probeArgs: string[], o?: { env?: Record<string, string> }): Promise<RunResult>;
  /** Starts `capsule run` in the background. */
  spawnRun(args: string[], env?: Record<string, string>): ChildProcess & { out: () => string; err: () => string; exited: Promise<number | null> };
  /** Pod directories on disk in any state. */
  pods(): string[];
  /** Removes every pod (gc with no grace period) and checks nothing of it stays behind. */
  teardown(): Promise<void>;
}

function podCgroups(uuid: string): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number): void => {
    let es: fs.Dirent[];
    try {
      es = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of es) {
      if (!e.isDirectory()) continue;
      const p = path.join(d, e.name);
      if (e.name.includes(uuid)) out.push(p);
      else if (depth < 4) walk(p, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return out;
}

/** Cgroups, mounts and processes left by the given pods (empty when gc did its job). */
export function leftovers(uuids: readonly string[]): string[] {
  const found: string[] = [];
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  for (const u of uuids) {
    found.push(...podCgroups(u).map((c) => `cgroup ${c}`));
    if (mounts.includes(u)) found.push(`mount of ${u}`);
  }
  return found;
}

export async function makePodWorld(prefix = 'capsule-pods-'): Promise<PodWorld> {
  const w = makeWorld(prefix);
  const ids: string[] = [];
  for (const name of ['probe', 'busybox'] as const) {
    const r = await w.run(['--insecure-options=image', 'fetch', '--full', sampleImage(name)]);
    if (r.code !== 0) throw new Error(`fetching ${name}: ${r.stderr}`);
    ids.push(r.stdout.trim());
  }
  const [probe = '', busybox = ''] = ids;
  const pods = (): string[] => {
    const out: string[] = [];
    const base = path.join(w.dir, 'pods');
    for (const state of ['embryo', 'prepare', 'prepared', 'run', 'exited-garbage', 'garbage']) {
      try {
        for (const u of fs.readdirSync(path.join(base, state))) out.push(path.join(base, state, u));
      } catch {
        /* no such state dir */
      }
    }
    return out;
  };
  return {
    ...w,
    probe,
    busybox,
    probeRun: (podFlags, appFlags, probeArgs, o) => w.run(['run', ...podFlags, probe, '--exec=/probe', ...appFlags, '--', ...probeArgs], o),
    spawnRun(args, env = {}) {
      const child = spawn(CAPSULE, [...w.flags, ...args], { env: { ...process.env, CAPSULE_RUNTIME_DIR: w.runtimeDir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      // Listening from the start: the process may end before a test starts waiting for it.
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 + (os.constants.signals[sig] ?? 0) : null))));
      return Object.assign(child, { out: () => out, err: () => err, exited });
    },
    pods,
    async teardown() {
      const uuids = pods().map((p) => path.basename(p));
      // A test that failed before its own `stop` leaves its pod running, and gc collects only
      // exited pods: stop them first, or the pod, its netns, veths, IPAM leases, iptables rules
      // and cgroups stay on the host after the world's directory is gone.
      const running = async (): Promise<string[]> => {
        const out: string[] = [];
        for (const u of uuids) if (/^state=running$/m.test((await w.run(['status', u])).stdout)) out.push(u);
        return out;
      };
      const live = await running();
      for (const u of live) await w.run(['stop', '--force', u]);
      if (live.length > 0) await waitFor('the stopped pods to exit', async () => (await running()).length === 0, 30_000);
      await w.run(['gc', '--grace-period=0s', '--expire-prepared=0s']);
      const left = leftovers(uuids);
      w.cleanup();
      if (left.length > 0) throw new Error(`pods left things behind: ${left.join(', ')}`);
    },
  };
}

/** Parses the probe's `key=value` lines. */
export function probeFacts(stdout: string): Record<string, string> {
  const facts: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && !line.startsWith('env:')) facts[line.slice(0, i)] = line.slice(i + 1);
  }
  return facts;
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// ---- running pods, seen from the host (enter/notify/privilege tests) ----

export type RunChild = ReturnType<PodWorld['spawnRun']>;

/** A pod started in the background with `capsule run`, every app started. */
export interface RunningPod {
  uuid: string;
  child: RunChild;
  /** PID (host view) of the pod's init, the only child of nspawn. */
  initPid: number;
}

/**
 * `capsule run --uuid-file-save F ARGS…` in the background; resolves once `status --wait-ready`
 * says every app has started. Throws (after stopping what it started) when the pod does not get there.
 */
export async function startPod(w: PodWorld, args: string[], env?: Record<string, string>): Promise<RunningPod> {
  const uuidFile = path.join(w.base, `uuid-${process.hrtime.bigint()}`);
  const child = w.spawnRun(['run', '--uuid-file-save', uuidFile, ...args], env);
  let ended = false;
  void child.exited.then(() => (ended = true));
  const uuidOf = (): string => (fs.existsSync(uuidFile) ? fs.readFileSync(uuidFile, 'utf8').trim() : '');
  try {
    await waitFor('the pod UUID', () => ended || uuidOf() !== '');
    if (ended) throw new Error(`capsule run ended early (${await child.exited}): ${child.err()}`);
    const uuid = uuidOf();
    const s = await w.run(['status', '--wait-ready=20s', uuid]);
    const initPid = Number(/^pid=(\d+)$/m.exec(s.stdout)?.[1] ?? 0);
    if (!/^state=running$/m.test(s.stdout) || initPid <= 0) throw new Error(`pod ${uuid} not ready: ${s.stdout}${s.stderr}${child.err()}`);
    return { uuid, child, initPid };
  } catch (e) {
    child.kill('SIGTERM');
    await child.exited;
    throw e;
  }
}

/** Children of a process (all its threads'), host PIDs. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      out.push(...fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number));
    } catch {
      /* the task ended */
    }
  }
  return out;
}

/** `Key:\tvalue` lines of /proc/PID/status (or of a `cat /proc/self/status` output). */
export function parseProcStatus(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_]+):\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1] as string] = (m[2] as string).replace(/\s+/g, ' ');
  }
  return out;
}

export function procStatus(pid: number): Record<string, string> {
  return parseProcStatus(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
}

/** A process's environment, from /proc/PID/environ (or a `cat /proc/self/environ` output). */
export function parseEnviron(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of text.split('\0')) {
    const i = e.indexOf('=');
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

/** The app processes of a running pod (children of its init), by app name (their AC_APP_NAME). */
export function appPids(pod: RunningPod): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pid of childPids(pod.initPid)) {
    try {
      const name = parseEnviron(fs.readFileSync(`/proc/${pid}/environ`, 'utf8')).AC_APP_NAME;
      if (name) out[name] = pid;
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Ends a pod started by startPod the way an admin would: `stop`, wait for `capsule run` to exit,
 * `gc --grace-period=0s`. Returns what each step said and what the pod left behind.
 */
export async function stopAndCollect(w: PodWorld, pod: RunningPod): Promise<{ stop: RunResult; runExit: number | null; gc: RunResult; left: string[]; onDisk: boolean }> {
  const stop = await w.run(['stop', pod.uuid]);
  let timer: NodeJS.Timeout | undefined;
  const runExit = await Promise.race([pod.child.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), 30_000)))]);
  clearTimeout(timer);
  if (runExit === null) {
    pod.child.kill('SIGKILL');
    await pod.child.exited;
  }
  const gc = await w.run(['gc', '--grace-period=0s']);
  return { stop, runExit, gc, left: leftovers([pod.uuid]), onDisk: w.pods().some((p) => path.basename(p) === pod.uuid) };
}

/**
 * Registers, inside a describe, one pod world for its tests: made before them (`set` receives it)
 * and torn down after them, also when making it failed half-way.
 */
export function usePodWorld(set: (w: PodWorld) => void): void {
  let made: PodWorld | undefined;
  beforeAll(async () => {
    made = await makePodWorld();
    set(made);
  }, 120_000);
  afterAll(async () => {
    await made?.teardown();
  });
}
