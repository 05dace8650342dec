import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPod, findPod, openPreparedForRun, Pod, PodTransitionBug, readPodRuntime } from '../../../../src/stage0/pod/pod.js';
import { isPodLocked, probePodLocks } from '../../../../src/stage0/pod/pod-lock.js';
import { listPodStatuses, podStatus } from '../../../../src/stage0/pod/pod-status.js';
import { fakePod, fakeUuid, holdLock, lockFileOf, type Holder } from '../../../integration/pods-fixtures.js';

let base: string;
let dataDir: string;
let runtimeDir: string;
const holders: Holder[] = [];

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-pod-'));
  dataDir = path.join(base, 'var');
  runtimeDir = path.join(base, 'run');
});
afterEach(async () => {
  for (const h of holders.splice(0)) await h.kill();
  fs.rmSync(base, { recursive: true, force: true });
});

const hold = async (uuid: string): Promise<Holder> => {
  const h = await holdLock(runtimeDir, uuid);
  holders.push(h);
  return h;
};

const dirsOf = (uuid: string): string[] => ['embryo', 'prepare', 'prepared', 'run', 'exited-garbage', 'garbage'].filter((d) => fs.existsSync(path.join(dataDir, 'pods', d, uuid)));

describe('createPod', () => {
  it('makes a locked pod in prepare/ with pod-created, and no embryo left', async () => {
    const pod = await createPod({ dataDir, runtimeDir });
    expect(pod.state).toBe('prepare');
    expect(pod.dir).toBe(path.join(dataDir, 'pods', 'prepare', pod.uuid));
    expect(fs.existsSync(path.join(pod.dir, 'pod-created'))).toBe(true);
    expect(dirsOf(pod.uuid)).toEqual(['prepare']);
    expect(pod.holdsLock).toBe(true);
    expect(await isPodLocked(runtimeDir, pod.uuid)).toBe(true);
    expect(await pod.stateName()).toBe('preparing');
    pod.releaseLock();
    expect(await isPodLocked(runtimeDir, pod.uuid)).toBe(false);
    expect((await findPod(dataDir, runtimeDir, pod.uuid)).state).toBe('prepare');
    expect(await (await findPod(dataDir, runtimeDir, pod.uuid)).stateName()).toBe('aborted prepare');
  });

  it('with an inherited descriptor: locks it and its file becomes the pod lock', async () => {
    fs.mkdirSync(path.join(runtimeDir, 'pods'), { recursive: true });
    const pending = path.join(runtimeDir, 'pods', '.pending-1');
    const fd = fs.openSync(pending, 'w+');
    const pod = await createPod({ dataDir, runtimeDir, inheritedLock: { fd, pendingPath: pending } });
    expect(fs.existsSync(pending)).toBe(false);
    const lockFile = path.join(runtimeDir, 'pods', `${pod.uuid}.lock`);
    expect(fs.fstatSync(fd).ino).toBe(fs.statSync(lockFile).ino);
    expect(await isPodLocked(runtimeDir, pod.uuid)).toBe(true);
    // Releasing unlocks the shared description even though the descriptor stays open (the wrapper's copy).
    pod.releaseLock();
    expect(await isPodLocked(runtimeDir, pod.uuid)).toBe(false);
    fs.closeSync(fd);
  });
});

describe('transitions', () => {
  it('prepare → prepared → run → exited-garbage, each an atomic rename under the lock', async () => {
    const pod = await createPod({ dataDir, runtimeDir });
    fs.writeFileSync(path.join(pod.dir, 'marker'), 'x');
    pod.toPrepared();
    expect(dirsOf(pod.uuid)).toEqual(['prepared']);
    pod.toRun();
    expect(dirsOf(pod.uuid)).toEqual(['run']);
    expect(await pod.isRunning()).toBe(true);
    pod.toExitedGarbage();
    expect(dirsOf(pod.uuid)).toEqual(['exited-garbage']);
    expect(fs.readFileSync(path.join(pod.dir, 'marker'), 'utf8')).toBe('x');
    pod.releaseLock();
  });

  it('the wrong starting state is a bug, not a user error, and moves nothing', async () => {
    const pod = await createPod({ dataDir, runtimeDir });
    expect(() => pod.toExitedGarbage()).toThrow(PodTransitionBug);
    expect(() => pod.toExitedGarbage()).toThrow(/prepare → exited-garbage is not allowed/);
    pod.toRun();
    expect(() => pod.toPrepared()).toThrow(PodTransitionBug);
    expect(() => pod.toGarbage()).toThrow(PodTransitionBug);
    expect(dirsOf(pod.uuid)).toEqual(['run']);
    pod.releaseLock();
  });

  it('a transition without the lock is a bug', async () => {
    const { uuid } = fakePod(dataDir, 'prepared');
    const pod = await findPod(dataDir, runtimeDir, uuid);
    expect(() => pod.toRun()).toThrow(/without holding the pod lock/);
    expect(dirsOf(uuid)).toEqual(['prepared']);
  });

  it('a pod moved by someone else: a clear error', async () => {
    const { uuid } = fakePod(dataDir, 'prepare');
    const pod = new Pod(dataDir, runtimeDir, uuid, 'prepare');
    expect(await pod.lockExclusive()).toBe(true);
    fs.renameSync(path.join(dataDir, 'pods', 'prepare', uuid), path.join(base, 'elsewhere'));
    expect(() => pod.toGarbage()).toThrow(`pod "${uuid}" is no longer in prepare/`);
    pod.releaseLock();
  });
});

describe('openPreparedForRun', () => {
  it('moves a prepared pod to run/, locked', async () => {
    const { uuid } = fakePod(dataDir, 'prepared');
    const pod = await openPreparedForRun({ dataDir, runtimeDir, uuidArg: uuid.slice(0, 6).toUpperCase() });
    expect(pod.uuid).toBe(uuid);
    expect(pod.state).toBe('run');
    expect(dirsOf(uuid)).toEqual(['run']);
    expect(await isPodLocked(runtimeDir, uuid)).toBe(true);
    pod.releaseLock();
  });

  it('refuses pods that are not prepared', async () => {
    const { uuid } = fakePod(dataDir, 'run');
    await expect(openPreparedForRun({ dataDir, runtimeDir, uuidArg: uuid })).rejects.toThrow(`pod "${uuid}" is not prepared`);
  });

  it('two at once: exactly one wins, the other is told the pod is not prepared', async () => {
    const { uuid } = fakePod(dataDir, 'prepared');
    const r = await Promise.allSettled([openPreparedForRun({ dataDir, runtimeDir, uuidArg: uuid }), openPreparedForRun({ dataDir, runtimeDir, uuidArg: uuid })]);
    const won = r.filter((x) => x.status === 'fulfilled');
    const lost = r.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(String(lost[0]!.reason)).toContain(`pod "${uuid}" is not prepared`);
    expect(dirsOf(uuid)).toEqual(['run']);
    (won[0] as PromiseFulfilledResult<Pod>).value.releaseLock();
  });

  it('with an inherited descriptor: the new lock file replaces the old while it is held', async () => {
    const { uuid } = fakePod(dataDir, 'prepared');
    const old = lockFileOf(runtimeDir, uuid);
    fs.writeFileSync(old, '');
    const oldIno = fs.statSync(old).ino;
    const pending = path.join(runtimeDir, 'pods', '.pending-2');
    const fd = fs.openSync(pending, 'w+');
    const pod = await openPreparedForRun({ dataDir, runtimeDir, uuidArg: uuid, inheritedLock: { fd, pendingPath: pending } });
    expect(fs.statSync(old).ino).not.toBe(oldIno);
    expect(fs.statSync(old).ino).toBe(fs.fstatSync(fd).ino);
    expect(await pod.isRunning()).toBe(true);
    pod.releaseLock();
    fs.closeSync(fd);
    expect(await isPodLocked(runtimeDir, uuid)).toBe(false);
  });
});

describe('findPod', () => {
  it('resolves prefixes across every state directory', async () => {
    const a = fakePod(dataDir, 'garbage', { uuid: fakeUuid('abcdef01') });
    const b = fakePod(dataDir, 'run', { uuid: fakeUuid('abcdef02') });
    expect((await findPod(dataDir, runtimeDir, 'ABCDEF01')).state).toBe('garbage');
    expect((await findPod(dataDir, runtimeDir, b.uuid)).uuid).toBe(b.uuid);
    await expect(findPod(dataDir, runtimeDir, 'abcdef0')).rejects.toThrow('ambiguous uuid, 2 matches');
    await expect(findPod(dataDir, runtimeDir, '0123')).rejects.toThrow('no matches found for "0123"');
    await expect(findPod(dataDir, runtimeDir, '')).rejects.toThrow('UUID cannot be empty');
    expect(a.uuid).not.toBe(b.uuid);
  });

  it('ignores entries that are not pod UUIDs', async () => {
    fs.mkdirSync(path.join(dataDir, 'pods', 'run', 'not-a-pod'), { recursive: true });
    await expect(findPod(dataDir, runtimeDir, 'not')).rejects.toThrow('no matches found');
  });
});

describe('status', () => {
  it('a running pod: run/ with its lock held by another process; exited once that process dies', async () => {
    const started = new Date(Date.now() - 60_000);
    const created = new Date(Date.now() - 120_000);
    const { uuid } = fakePod(dataDir, 'run', { created, ppid: process.pid, startedAt: started, apps: [{ name: 'a', started: true, exit: 3 }, { name: 'b', started: true }] });
    const h = await hold(uuid);
    const pod = await findPod(dataDir, runtimeDir, uuid);
    let st = await podStatus(pod);
    expect(st.state).toBe('running');
    expect(Math.round(st.created!)).toBe(created.getTime());
    expect(Math.round(st.started!)).toBe(started.getTime());
    expect(st.apps.map((a) => [a.name, a.exitCode, a.startedAt !== null])).toEqual([
      ['a', 3, true],
      ['b', null, true],
    ]);
    await h.kill();
    st = await podStatus(pod);
    expect(st.state).toBe('exited');
  });

  it('the pid: `pid` as written; else, while running, the only child of the `ppid` process', async () => {
    const { uuid } = fakePod(dataDir, 'run', { pid: 4242 });
    expect((await podStatus(await findPod(dataDir, runtimeDir, uuid))).pid).toBe(4242);
    // A stand-in for nspawn: a shell whose only child is the pod's "init".
    const nspawn = spawn('/bin/sh', ['-c', 'sleep 60 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    const init = Number(await new Promise<string>((resolve) => nspawn.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))));
    try {
      const p = fakePod(dataDir, 'run', { ppid: nspawn.pid! });
      const h = await hold(p.uuid);
      expect((await podStatus(await findPod(dataDir, runtimeDir, p.uuid))).pid).toBe(init);
      await h.kill();
      expect((await podStatus(await findPod(dataDir, runtimeDir, p.uuid))).pid).toBeNull();
    } finally {
      process.kill(-nspawn.pid!, 'SIGKILL');
    }
  });

  it('list: many pods, lock tests batched; locked ones found, unlocked ones not', async () => {
    const exited = Array.from({ length: 50 }, () => fakePod(dataDir, 'run', { apps: [{ name: 'x', exit: 0 }] }).uuid);
    const running = fakePod(dataDir, 'run').uuid;
    const preparing = fakePod(dataDir, 'prepare').uuid;
    const aborted = fakePod(dataDir, 'prepare').uuid;
    const prepared = fakePod(dataDir, 'prepared').uuid;
    const marked = fakePod(dataDir, 'exited-garbage').uuid;
    fakePod(dataDir, 'garbage');
    fakePod(dataDir, 'embryo');
    await hold(running);
    await hold(preparing);
    // Lock files of exited pods exist (nobody removes them until gc): still exited.
    for (const u of exited.slice(0, 10)) fs.writeFileSync(lockFileOf(runtimeDir, u), '');
    // An exited pod whose recorded nspawn is gone, and one that records a live process (ours).
    const gone = fakePod(dataDir, 'run', { ppid: 999_999_999 }).uuid;
    const alive = fakePod(dataDir, 'run', { ppid: process.pid }).uuid;
    await hold(alive);
    // With /proc/locks (where trusted) and without (flock(1) for what may be locked): same answers.
    for (const table of [undefined, null]) {
      const all = table === undefined ? await listPodStatuses(dataDir, runtimeDir) : await listPodStatuses(dataDir, runtimeDir, undefined, null);
      const by = new Map(all.map((s) => [s.uuid, s.state]));
      expect(all).toHaveLength(57); // not embryo, not garbage (rkt's list)
      expect(by.get(running)).toBe('running');
      expect(by.get(alive)).toBe('running');
      expect(by.get(gone)).toBe('exited');
      expect(by.get(preparing)).toBe('preparing');
      expect(by.get(aborted)).toBe('aborted prepare');
      expect(by.get(prepared)).toBe('prepared');
      expect(by.get(marked)).toBe('exited garbage');
      for (const u of exited) expect(by.get(u)).toBe('exited');
    }
    const probed = await probePodLocks(runtimeDir, [running, exited[0]!, exited[20]!]);
    expect([probed.get(running), probed.get(exited[0]!), probed.get(exited[20]!)]).toEqual([true, false, false]);
  });
});

describe('runtime.json', () => {
  it('reads a valid one, refuses unknown flavours or versions', async () => {
    const { uuid, dir } = fakePod(dataDir, 'run');
    expect(readPodRuntime(await findPod(dataDir, runtimeDir, uuid)).flavour).toBe('nspawn');
    const r = JSON.parse(fs.readFileSync(path.join(dir, 'runtime.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(dir, 'runtime.json'), JSON.stringify({ ...r, interfaceVersion: 99 }));
    expect(() => readPodRuntime(dir)).toThrow(/interface version 99/);
    fs.rmSync(path.join(dir, 'runtime.json'));
    expect(() => readPodRuntime(dir)).toThrow(/runtime\.json/);
  });
});
