import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
