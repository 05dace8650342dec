import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPSULE, errorLines, makeWorld, type RunResult, type World } from '../helpers/cli.js';
import { fakePod, lockFileOf, lockHolders } from './pods-fixtures.js';

/** gc, rm and stop through the real CLI, on pods made by hand on disk. */
let w: World;
const run = (args: string[]): Promise<RunResult> => w.run(args, { env: { CAPSULE_CGROUP_ROOT: path.join(w.base, 'cgroup') } });
const hold = lockHolders(() => w);
const where = (uuid: string): string[] => ['embryo', 'prepare', 'prepared', 'run', 'exited-garbage', 'garbage'].filter((d) => fs.existsSync(path.join(w.dir, 'pods', d, uuid)));
const podsLeft = (): string[] => (fs.existsSync(path.join(w.dir, 'pods')) ? fs.readdirSync(path.join(w.dir, 'pods')).flatMap((d) => fs.readdirSync(path.join(w.dir, 'pods', d))) : []);
const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

beforeAll(() => {
  w = makeWorld();
});
afterAll(() => w.cleanup());

function asNobody(args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const c = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', CAPSULE, ...w.flags, ...args], { env: { ...process.env, CAPSULE_RUNTIME_DIR: w.runtimeDir } });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => resolve({ code, err }));
  });
}

describe('capsule gc', () => {
  it('two phases: marks exited pods, keeps them within the grace period, then deletes them and their lock files', async () => {
    const exited = fakePod(w.dir, 'run').uuid;
    const running = fakePod(w.dir, 'run').uuid;
    fs.writeFileSync(lockFileOf(w.runtimeDir, exited), '');
    await hold(running);
    let r = await run(['gc']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toEqual([`gc: moving pod "${exited}" to garbage`, `gc: pod "${exited}" not removed: still within grace period (30m0s)`]);
    expect(where(exited)).toEqual(['exited-garbage']);
    expect(where(running)).toEqual(['run']);
    r = await run(['gc', '--grace-period=1h30m']);
    expect(lines(r.stderr)).toEqual([`gc: pod "${exited}" not removed: still within grace period (1h30m0s)`]);
    r = await run(['gc', '--grace-period=0s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Garbage collecting pod "${exited}"\n`);
    expect(r.stderr).toBe('');
    expect(where(exited)).toEqual([]);
    expect(fs.existsSync(lockFileOf(w.runtimeDir, exited))).toBe(false);
    expect(where(running)).toEqual(['run']);
  });

  it('the grace period counts from the mark (the exited-garbage dir ctime)', async () => {
    const { uuid } = fakePod(w.dir, 'run');
    expect((await run(['gc', '--mark-only'])).stderr).toBe(`gc: moving pod "${uuid}" to garbage\n`);
    expect(where(uuid)).toEqual(['exited-garbage']);
    await new Promise((r) => setTimeout(r, 1200));
    const r = await run(['gc', '--grace-period=1s']);
    expect(r.stdout).toBe(`Garbage collecting pod "${uuid}"\n`);
    expect(podsLeft()).toEqual([]);
  });

  it('--mark-only marks and deletes nothing; aborted prepares go to garbage, expired prepared pods too', async () => {
    const aborted = fakePod(w.dir, 'prepare').uuid;
    const preparing = fakePod(w.dir, 'prepare').uuid;
    const prepared = fakePod(w.dir, 'prepared').uuid;
    await hold(preparing);
    let r = await run(['gc', '--mark-only', '--grace-period=0s']);
    expect(lines(r.stderr)).toEqual([`gc: moving failed prepare "${aborted}" to garbage`]);
    expect(where(aborted)).toEqual(['garbage']);
    r = await run(['gc']);
    expect(r.stdout).toBe(`Garbage collecting pod "${aborted}"\n`);
    expect(where(prepared)).toEqual(['prepared']);
    r = await run(['gc', '--expire-prepared=0s']);
    expect(lines(r.stderr)).toEqual([`gc: moving expired prepared pod "${prepared}" to garbage`]);
    expect(r.stdout).toBe(`Garbage collecting pod "${prepared}"\n`);
    expect(where(preparing)).toEqual(['prepare']);
  });

  it('mounts left inside a pod dir are detached before it is removed, never descended into', async () => {
    const { uuid, dir } = fakePod(w.dir, 'exited-garbage');
    const mp = path.join(dir, 'stage1', 'rootfs');
    fs.mkdirSync(mp, { recursive: true });
    const host = path.join(w.base, 'precious');
    fs.mkdirSync(host);
    fs.writeFileSync(path.join(host, 'keep'), 'data');
    // A bind of a host directory left inside the pod: detached (lazily), never descended into.
    expect(spawnSync('mount', ['--bind', host, mp]).status).toBe(0);
    let r: RunResult;
    try {
      r = await run(['gc', '--grace-period=0s']);
    } finally {
      spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
    }
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Garbage collecting pod "${uuid}"\n`);
    expect(where(uuid)).toEqual([]);
    expect(fs.readFileSync(path.join(host, 'keep'), 'utf8')).toBe('data');
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(uuid);
  });

  // Speed is bench/pod-scale.mjs's business; this checks that all of them go, lock files too.
  it('100 pods in one run', async () => {
    for (let i = 0; i < 100; i++) fakePod(w.dir, 'run');
    const r = await run(['gc', '--grace-period=0s']);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toHaveLength(100);
    expect(podsLeft()).toEqual([]);
    expect(fs.readdirSync(path.join(w.runtimeDir, 'pods')).filter((n) => n.endsWith('.lock'))).toEqual([]);
  });

  it('needs root', async () => {
    const r = await asNobody(['gc']);
    expect(r.code).toBe(254);
    expect(r.err).toBe('gc: cannot run as unprivileged user\n');
  });
});

describe('capsule rm', () => {
  it('removes exited and prepared pods at once, prints their UUIDs; refuses running ones', async () => {
    const exited = fakePod(w.dir, 'run').uuid;
    const prepared = fakePod(w.dir, 'prepared').uuid;
    const running = fakePod(w.dir, 'run').uuid;
    await hold(running);
    const r = await run(['rm', exited.slice(0, 8), prepared, running]);
    expect(r.code).toBe(254);
    expect(lines(r.stdout)).toEqual([`"${exited}"`, `"${prepared}"`]);
    expect(lines(r.stderr)).toEqual([`rm: moving expired prepared pod "${prepared}" to garbage`, `rm: pod "${running}" is currently running`, 'rm: failed to remove one or more pods']);
    expect(where(exited)).toEqual([]);
    expect(where(prepared)).toEqual([]);
    expect(where(running)).toEqual(['run']);
  });

  it('--uuid-file; unknown pods fail; needs root', async () => {
    const { uuid } = fakePod(w.dir, 'prepare');
    const file = path.join(w.base, 'uuid');
    fs.writeFileSync(file, `${uuid}\n`);
    const r = await run(['rm', '--uuid-file', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`"${uuid}"\n`);
    expect(r.stderr).toBe(`rm: moving failed prepare "${uuid}" to garbage\n`);
    const u = await run(['rm', 'ffffffff']);
    expect(u.code).toBe(254);
    expect(lines(u.stderr)).toEqual(['rm: no matches found for "ffffffff"', 'rm: failed to remove one or more pods']);
    expect((await asNobody(['rm', uuid])).err).toBe('rm: cannot run as unprivileged user\n');
  });
});

describe('capsule stop', () => {
  it('signals a running pod through its flavour, waits until it has ended, prints its UUID', async () => {
    const { uuid } = fakePod(w.dir, 'run', { uuid: undefined });
    const h = await hold(uuid);
    fs.writeFileSync(path.join(w.dir, 'pods', 'run', uuid, 'ppid'), `${h.pid}\n`);
    const r = await run(['stop', uuid.slice(0, 8)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`"${uuid}"\n`);
    // stop returned: the pod has ended.
    const st = await run(['status', uuid]);
    expect(lines(st.stdout)[0]).toBe('state=exited');
  });

  it("exited pods are already stopped (not an error); others are not running: rkt's messages and count", async () => {
    const exited = fakePod(w.dir, 'run').uuid;
    const prepared = fakePod(w.dir, 'prepared').uuid;
    const r = await run(['stop', exited, prepared]);
    expect(r.code).toBe(254);
    expect(r.stdout).toBe(`pod "${exited}" is already stopped\n`);
    expect(lines(r.stderr)).toEqual([`stop: pod "${prepared}" is not running`, 'stop: failed to stop 1 pod(s)']);
    expect((await asNobody(['stop', exited])).err).toBe('stop: cannot run as unprivileged user\n');
  });
});

describe('errors', () => {
  it('one line each', async () => {
    const r = await run(['rm']);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
  });
});
