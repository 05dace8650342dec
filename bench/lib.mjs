// Shared helpers for the benchmarks: plain Node ESM, no dependencies beyond Node itself.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const TIME = '/usr/bin/time';
export const HAS_GNU_TIME = (() => {
  try {
    return spawnSync(TIME, ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0;
  } catch {
    return false;
  }
})();

/** The work dir: cached inputs live here between runs (env BENCH_DIR, else the OS temp dir). */
export const BENCH_DIR = path.resolve(process.env.BENCH_DIR ?? path.join(os.tmpdir(), 'capsule-bench'));

export const isRoot = () => process.getuid?.() === 0;

export function envInt(name, dflt, min = 1) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const fmtS = (ms) => `${(ms / 1000).toFixed(3)} s`;
export const fmtMs = (ms) => `${ms.toFixed(1)} ms`;
export const verdict = (ok) => (ok ? 'PASS' : 'MISS');

/** Runs a command synchronously; throws with its stderr on failure. Returns {stdout, stderr, ms}. */
export function run(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 300_000, ...opts });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\n${(r.stderr ?? '').slice(-4000)}`);
  }
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms, status: r.status };
}

/**
 * Runs a command under GNU time (when present) and measures its wall time from this process.
 * Returns {ms, maxRssKb, cpuS}; maxRssKb is GNU time's %M (the largest ru_maxrss of the child and
 * the descendants it waited for), cpuS its user+system CPU seconds; both null without GNU time.
 */
export function timed(cmd, args, opts = {}) {
  const rssFile = path.join(opts.scratch ?? os.tmpdir(), `time-${process.pid}.out`);
  const [c, a] = HAS_GNU_TIME ? [TIME, ['-f', '%M %U %S', '-o', rssFile, cmd, ...args]] : [cmd, args];
  const r = run(c, a, opts);
  let maxRssKb = null;
  let cpuS = null;
  if (HAS_GNU_TIME) {
    const lines = fs.readFileSync(rssFile, 'utf8').trim().split('\n');
    const [m, u, s] = lines[lines.length - 1].split(' ').map(Number);
    maxRssKb = m;
    cpuS = u + s;
    fs.rmSync(rssFile, { force: true });
  }
  return { ms: r.ms, maxRssKb, cpuS, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The capsule binary to measure. BENCH_CAPSULE names one to use as is. Otherwise the project's
 * build (dist/, made by `npm run build`; run here only when dist/ is missing or BENCH_BUILD=1) is
 * copied with bin/capsule into a private snapshot under node_modules/.cache/capsule-bench/, so a
 * concurrent rebuild of dist/ cannot pull files out from under a running benchmark (imports still
 * resolve to the project's node_modules). Returns the snapshot's bin/capsule.
 */
export function ensureBuilt() {
  if (process.env.BENCH_CAPSULE) return path.resolve(process.env.BENCH_CAPSULE);
  const dist = path.join(REPO, 'dist');
  const mainJs = path.join(dist, 'cli', 'main.cjs');
  if (!fs.existsSync(mainJs)) sleepMs(3000); // maybe mid-rebuild: give it a moment
  if (process.env.BENCH_BUILD === '1' || !fs.existsSync(mainJs)) {
    console.error('bench: building dist/ (npm run build)');
    run('npm', ['run', '--silent', 'build'], { cwd: REPO, timeoutMs: 300_000 });
  } else {
    const ageMin = (Date.now() - fs.statSync(mainJs).mtimeMs) / 60000;
    console.error(`bench: using dist/ built ${ageMin.toFixed(0)} min ago (BENCH_BUILD=1 rebuilds it first)`);
  }
  const snap = path.join(REPO, 'node_modules', '.cache', 'capsule-bench');
  const bin = path.join(snap, 'bin', 'capsule');
  // A copy taken while someone rebuilds dist/ may fail or be incomplete: check that it runs, retry.
  for (let attempt = 1; ; attempt++) {
    let why;
    try {
      fs.rmSync(snap, { recursive: true, force: true });
      fs.mkdirSync(path.join(snap, 'bin'), { recursive: true });
      fs.cpSync(dist, path.join(snap, 'dist'), { recursive: true });
      fs.copyFileSync(path.join(REPO, 'bin', 'capsule'), bin);
      fs.copyFileSync(path.join(REPO, 'bin', 'package.json'), path.join(snap, 'bin', 'package.json'));
      fs.copyFileSync(path.join(REPO, 'bin', 'boot.cjs'), path.join(snap, 'bin', 'boot.cjs'));
      fs.chmodSync(bin, 0o755);
      const r = spawnSync(bin, ['version'], { encoding: 'utf8', timeout: 30_000 });
      if (r.status === 0) break;
      why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0];
    } catch (e) {
      why = e.message;
    }
    if (attempt >= 5) throw new Error(`no runnable snapshot of dist/ (${why}): is it built? (npm run build)`);
    console.error(`bench: snapshot of dist/ not usable yet (${why}); retrying`);
    sleepMs(3000);
  }
  process.env.BENCH_CAPSULE = bin; // child benchmarks reuse this snapshot
  return bin;
}

/** Cleanup actions run once, in reverse order, on normal exit, error or SIGINT/SIGTERM. */
const cleanups = [];
let cleaned = false;
export function onCleanup(fn) {
  if (cleanups.length === 0) {
    // Installed with the first cleanup, so a script that registers none keeps default handling.
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.on(sig, () => {
        cleanupNow();
        process.exit(130);
      });
    }
    process.on('exit', cleanupNow);
  }
  cleanups.push(fn);
}
export function cleanupNow() {
  if (cleaned) return;
  cleaned = true;
  for (const fn of cleanups.reverse()) {
    try {
      fn();
    } catch (e) {
      console.error(`bench: cleanup: ${e.message}`);
    }
  }
}

/** A scratch dir for fresh stores/extractions: a tmpfs mounted for us when root, else /dev/shm. */
export function scratchTmpfs(label, sizeMb = 4096) {
  if (isRoot()) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `capsule-bench-${label}-`));
    run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0700`, 'tmpfs', dir]);
    onCleanup(() => {
      // A just-killed gpg-agent may hold the mount for a moment: retry, then detach lazily.
      let ok = false;
      for (let i = 0; i < 20 && !ok; i++) {
        ok = spawnSync('umount', [dir]).status === 0;
        if (!ok) sleepMs(100);
      }
      if (!ok) spawnSync('umount', ['-l', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return { dir, kind: `tmpfs mounted at ${dir}` };
  }
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), `capsule-bench-${label}-`));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { dir, kind: `${dir} (not root: /dev/shm)` };
}

/** A temp GNUPGHOME whose agent is killed at cleanup. */
export function gnupgHome(parent) {
  const home = fs.mkdtempSync(path.join(parent, 'gnupg-'));
  fs.chmodSync(home, 0o700);
  onCleanup(() => {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    fs.rmSync(home, { recursive: true, force: true });
  });
  return home;
}

export function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Removes a directory tree quickly (outside any timed region). */
export function rmrf(p) {
  fs.rmSync(p, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * The alternating timing loop of the comparison benches: `rounds` rounds, each running every key
 * of `keys` once in a rotating order (ABC, BCA, CAB, …, so drift hits all alike), then the keys of
 * `last` (informational runs) in their order. `runOne(key, round)` runs one and returns its
 * result ({ ms, … }); `after(key, result, round)` (optional) runs untimed after each.
 * Stops early, saying so, once `budgetMs` is spent (after at least one round). Returns the results
 * per key, in run order, and calls `onRound(round, [[key, result], …])` after each round.
 */
export async function alternatingRounds({ keys, last = [], rounds, runOne, after, onRound, budgetMs = Infinity }) {
  const results = Object.fromEntries([...keys, ...last].map((k) => [k, []]));
  const t0 = Date.now();
  for (let i = 0; i < rounds; i++) {
    if (i > 0 && Date.now() - t0 > budgetMs) {
      console.log(`  time budget (${budgetMs / 1000} s) reached: stopping after ${i} rounds`);
      break;
    }
    const order = [...keys.slice(i % keys.length), ...keys.slice(0, i % keys.length), ...last];
    const line = [];
    for (const k of order) {
      const r = await runOne(k, i);
      results[k].push(r);
      line.push([k, r]);
      if (after) await after(k, r, i);
    }
    onRound?.(i, line);
  }
  return results;
}
