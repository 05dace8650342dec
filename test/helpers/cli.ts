import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CAPSULE = path.join(ROOT, 'bin/capsule');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs the real CLI as a separate process (what users and systemd run). */
export function runCapsule(args: string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(CAPSULE, [...args], {
      cwd: o.cwd ?? ROOT,
      env: { ...process.env, ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(o.input ?? '');
  });
}

/** A private Capsule world: data dir, local and system config, all in one temp dir. */
export interface World {
  base: string;
  dir: string;
  localConfig: string;
  systemConfig: string;
  /** CAPSULE_RUNTIME_DIR of this world (pod locks), set for every `run`. */
  runtimeDir: string;
  /** Global flags pointing capsule at this world. */
  flags: string[];
  run(args: string[], o?: RunOptions): Promise<RunResult>;
  cleanup(): void;
}

export function makeWorld(prefix = 'capsule-test-'): World {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const dir = path.join(base, 'var');
  const localConfig = path.join(base, 'etc');
  const systemConfig = path.join(base, 'usr-lib');
  const runtimeDir = path.join(base, 'run');
  const flags = [`--dir=${dir}`, `--local-config=${localConfig}`, `--system-config=${systemConfig}`];
  return {
    base,
    dir,
    localConfig,
    systemConfig,
    runtimeDir,
    flags,
    run: (args, o) => runCapsule([...flags, ...args], { ...o, env: { CAPSULE_RUNTIME_DIR: runtimeDir, ...o?.env } }),
    cleanup: () => fs.rmSync(base, { recursive: true, force: true }),
  };
}

/** Lines of stderr, for asserting the one-line error rule. */
export function errorLines(r: RunResult): string[] {
  return r.stderr.split('\n').filter((l) => l.trim() !== '');
}

/** The cells of a listing line (rkt's tabwriter output): split on runs of tabs, empty cells dropped. */
export function tabCells(line: string): string[] {
  return line.split(/\t+/).filter((c) => c !== '');
}

/** A line as a terminal shows it (tab stops every 8 columns), for checking that columns line up. */
export function expandTabs(line: string): string {
  let out = '';
  for (const ch of line) out += ch === '\t' ? ' '.repeat(8 - (out.length % 8)) : ch;
  return out;
}
