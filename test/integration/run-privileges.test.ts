/**
 * rkt refuses to run, prepare, run-prepared, enter, gc and rm pods for an unprivileged user, and
 * lets anyone who can read its data directory (the `rkt` group) use `list` and `status`. The real
 * CLI runs here as uid/gid 65534 through setpriv(1), against a world a root user filled with a
 * prepared, a running and an exited pod.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPSULE, errorLines, type RunResult } from '../helpers/cli.js';
import { makePodWorld, podSkipReason, startPod, stopAndCollect, type PodWorld, type RunningPod } from '../helpers/pods.js';

const NOBODY = 65534;
const SETPRIV = '/usr/bin/setpriv';
const DROP = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'];
/** The caller's environment, trimmed to what the CLI needs (nothing of root's that it could write to). */
const baseEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', LANG: 'C' });

function skipReason(): string | null {
  const pods = podSkipReason();
  if (pods) return pods;
  if (!fs.existsSync(SETPRIV)) return `needs ${SETPRIV} (util-linux)`;
  const node = spawnSync(SETPRIV, [...DROP, 'node', '-e', ''], { env: baseEnv(), cwd: '/', encoding: 'utf8' });
  if (node.status !== 0) return `uid ${NOBODY} cannot run node: ${node.error?.message ?? node.stderr.trim()}`;
  const cli = spawnSync(SETPRIV, [...DROP, CAPSULE, 'version'], { env: baseEnv(), cwd: '/', encoding: 'utf8' });
  if (cli.status !== 0) return `uid ${NOBODY} cannot run ${CAPSULE} (is the repository traversable by others?): ${cli.stderr.trim()}`;
  return null;
}

const skip = skipReason();
if (skip) process.stderr.write(`skipping run-privileges tests: ${skip}\n`);

/** Every path under `dir` with its type, mode and owner: what "nothing was created or changed" compares. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = fs.readdirSync(d);
    } catch {
      return;
    }
    for (const n of names.sort()) {
      const p = path.join(d, n);
      const st = fs.lstatSync(p);
      out.push(`${p} ${st.mode.toString(8)} ${st.uid}:${st.gid}${st.isFile() ? ` ${st.size}` : ''}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

describe.skipIf(skip !== null)(`pod commands as an unprivileged user (uid ${NOBODY})`, () => {
  let w: PodWorld;
  let prepared = '';
  let exited = '';
  let running: RunningPod;

  beforeAll(async () => {
    w = await makePodWorld('capsule-unpriv-');
    fs.chmodSync(w.base, 0o755); // mkdtemp made it 0700
    prepared = (await w.run(['prepare', w.probe])).stdout.trim();
    const uuidFile = path.join(w.base, 'exited-uuid');
    expect((await w.run(['run', '--uuid-file-save', uuidFile, w.probe, '--exec=/probe', '--', 'exit', '3'])).code).toBe(3);
    exited = fs.readFileSync(uuidFile, 'utf8').trim();
    running = await startPod(w, [w.probe, '--exec=/probe', '--', 'sleep', '600']);
    // The runtime dir as bin/capsule's `mkdir -p -m 0700 "$rt/pods"` leaves it (and as /run is):
    // $rt 0755, $rt/pods 0700. (When `prepare` comes first, Node's recursive mkdir makes $rt 0700 too.)
    fs.chmodSync(w.runtimeDir, 0o755);
    expect(fs.statSync(path.join(w.runtimeDir, 'pods')).mode & 0o777).toBe(0o700);
  }, 120_000);

  afterAll(async () => {
    if (running) {
      const end = await stopAndCollect(w, running);
      expect(end.left).toEqual([]);
    }
    await w?.teardown();
  });

  /** The real CLI as uid/gid 65534, no supplementary groups. */
  const asNobody = (args: string[], runtimeDir = w.runtimeDir): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(SETPRIV, [...DROP, CAPSULE, ...w.flags, ...args], { cwd: '/', env: { ...baseEnv(), CAPSULE_RUNTIME_DIR: runtimeDir }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });

  const stateOf = async (uuid: string): Promise<string> => /^state=(.*)$/m.exec((await w.run(['status', uuid])).stdout)?.[1] ?? '?';
  const refused: Array<[string, () => string[]]> = [
    ['run', () => ['run', w.probe, '--exec=/probe', '--', 'exit', '0']],
    ['prepare', () => ['prepare', w.probe]],
    ['run-prepared', () => ['run-prepared', prepared]],
    ['enter', () => ['enter', running.uuid, '/bin/true']],
    ['gc', () => ['gc', '--grace-period=0s', '--expire-prepared=0s']],
    ['rm', () => ['rm', prepared, exited]],
  ];
  /** The commands bin/capsule does not simply exec Node for (it opens lock and handover files first). */
  const WRAPPED = new Set(['run', 'run-prepared', 'enter']);

  it.each(refused)('%s is refused: exit 254 with "<cmd>: cannot run as unprivileged user", nothing created or changed', async (cmd, args) => {
    const before = snapshot(w.base);
    const r = await asNobody(args());
    expect(r.code).toBe(254);
    expect(r.stdout).toBe('');
    const own = errorLines(r).filter((l) => l.startsWith(`${cmd}: `));
    expect(own).toEqual([`${cmd}: cannot run as unprivileged user`]);
    if (!WRAPPED.has(cmd)) expect(errorLines(r)).toEqual([`${cmd}: cannot run as unprivileged user`]);
    expect(snapshot(w.base)).toEqual(before);
    expect(await stateOf(prepared)).toBe('prepared');
    expect(await stateOf(exited)).toBe('exited');
    expect(await stateOf(running.uuid)).toBe('running');
  });

  // KNOWN BUG (bin/capsule): for run, run-prepared and enter the wrapper sets up its handover and
  // lock files whenever `mkdir -p "$rt/pods"` succeeds, which it does when the runtime dir already
  // exists (as soon as root ran one pod) even though the user cannot write there; the shell then
  // prints "cannot create …/.pending-PID: Permission denied" and "rm: cannot remove
  // …/.handover-PID: Permission denied" around the one-line error. Flip to `it.each` once fixed.
  it.each(refused.filter(([c]) => WRAPPED.has(c)))('%s: the error is the only stderr line while the runtime dir exists', async (cmd, args) => {
    const r = await asNobody(args());
    expect(errorLines(r)).toEqual([`${cmd}: cannot run as unprivileged user`]);
  });

  it.each(refused)('%s before any pod ran (no runtime dir yet): exactly the one-line error, and no runtime dir is made', async (cmd, args) => {
    const fresh = path.join(w.base, 'fresh-run');
    const before = snapshot(w.base);
    const r = await asNobody(args(), fresh);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual([`${cmd}: cannot run as unprivileged user`]);
    expect(fs.existsSync(fresh)).toBe(false);
    expect(snapshot(w.base)).toEqual(before);
  });

  /** What an admin does to let a user read pod state (rkt: the rkt group): o+rx on the data dir's pod tree and the lock dir. */
  const openUp = (lockDirMode: number): void => {
    fs.chmodSync(w.dir, 0o711);
    const pods = path.join(w.dir, 'pods');
    fs.chmodSync(pods, 0o755);
    for (const state of fs.readdirSync(pods)) {
      fs.chmodSync(path.join(pods, state), 0o755);
      for (const u of fs.readdirSync(path.join(pods, state))) fs.chmodSync(path.join(pods, state, u), 0o755);
    }
    fs.chmodSync(path.join(w.runtimeDir, 'pods'), lockDirMode);
  };
  const listed = (stdout: string): Record<string, string> =>
    Object.fromEntries(stdout.split('\n').slice(1).filter(Boolean).map((l) => {
      const f = l.split(/\t+/);
      return [f[0] ?? '', f[3] ?? ''];
    }));

  it('list and status work for a user who may read the pods, and tell prepared, running and exited apart', async () => {
    openUp(0o755);
    try {
      const before = snapshot(w.base);
      const l = await asNobody(['list']);
      expect(l.stderr).toBe('');
      expect(l.code).toBe(0);
      expect(listed(l.stdout)).toEqual({ [prepared.slice(0, 8)]: 'prepared', [running.uuid.slice(0, 8)]: 'running', [exited.slice(0, 8)]: 'exited' });
      for (const [uuid, state] of [[prepared, 'prepared'], [running.uuid, 'running'], [exited, 'exited']] as const) {
        const s = await asNobody(['status', uuid]);
        expect(s.stderr).toBe('');
        expect(s.code).toBe(0);
        expect(s.stdout).toMatch(new RegExp(`^state=${state}$`, 'm'));
      }
      expect((await asNobody(['status', exited])).stdout).toMatch(/^app-probe=3$/m);
      expect(snapshot(w.base)).toEqual(before);
    } finally {
      fs.chmodSync(path.join(w.runtimeDir, 'pods'), 0o700);
    }
  });

  // KNOWN BUG (src/stage0/pod): with the lock dir as capsule creates it (0700, so a user cannot even
  // stat the lock files), `status` reports a running pod "exited" (podStatus → Pod.isLocked()
  // turns probeLock's "cannot tell" (null) into false, so readStatus's processAlive fallback never
  // runs) and `list` reports an exited pod "running" (probePodLocks: a lock file it cannot stat
  // is pushed to `check`, and probeLock's null becomes true because /proc/locks "answered", though
  // no inode was ever looked up). Flip to `it` once fixed.
  it('list and status tell running from exited when the lock dir is not readable (0700, as capsule makes it)', async () => {
    openUp(0o700);
    const l = await asNobody(['list']);
    expect(l.code).toBe(0);
    expect.soft(listed(l.stdout)).toEqual({ [prepared.slice(0, 8)]: 'prepared', [running.uuid.slice(0, 8)]: 'running', [exited.slice(0, 8)]: 'exited' });
    expect.soft((await asNobody(['status', running.uuid])).stdout).toMatch(/^state=running$/m);
    expect.soft((await asNobody(['status', exited])).stdout).toMatch(/^state=exited$/m);
  });
});
