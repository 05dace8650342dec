import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findPod } from '../../../../src/stage0/pod/pod.js';
import { lockPod, probePodLocks } from '../../../../src/stage0/pod/pod-lock.js';
import { podLogs } from '../../../../src/stage0/pod/pod-logs.js';
import { waitExited, waitReady } from '../../../../src/stage0/pod/pod-wait.js';
import { exclusiveLockInodes } from '../../../../src/sys/flock.js';
import { fakePod, holdLock, lockFileOf, type Holder } from '../../../integration/pods-fixtures.js';

let base: string;
let dataDir: string;
let runtimeDir: string;
const holders: Holder[] = [];

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-lock-'));
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

describe('lock probes', () => {
  it('/proc/locks shows a held lock by inode (where it can be trusted)', async () => {
    const { uuid } = fakePod(dataDir, 'run');
    await hold(uuid);
    const inodes = exclusiveLockInodes();
    if (inodes === null) return; // not in the initial PID namespace: the flock(1) fallback is tested below
    expect(inodes.has(fs.statSync(lockFileOf(runtimeDir, uuid)).ino)).toBe(true);
  });

  it('without /proc/locks every existing lock file is tested with flock(1): same answers', async () => {
    const running = fakePod(dataDir, 'run').uuid;
    const exited = fakePod(dataDir, 'run').uuid;
    const noFile = fakePod(dataDir, 'run').uuid;
    await hold(running);
    fs.writeFileSync(lockFileOf(runtimeDir, exited), '');
    for (const held of [null, exclusiveLockInodes()]) {
      const r = await probePodLocks(runtimeDir, [running, exited, noFile], held);
      expect([r.get(running), r.get(exited), r.get(noFile)]).toEqual([true, false, false]);
    }
    expect(fs.existsSync(lockFileOf(runtimeDir, noFile))).toBe(false); // probing creates nothing
  });

  it('an exclusive pod lock excludes a second taker until released', async () => {
    const { uuid } = fakePod(dataDir, 'run');
    const l = await lockPod(runtimeDir, uuid, 'exclusive', false);
    expect(l).not.toBeNull();
    expect(await lockPod(runtimeDir, uuid, 'shared', false)).toBeNull();
    l!.release();
    const s = await lockPod(runtimeDir, uuid, 'shared', false);
    expect(s).not.toBeNull();
    s!.release();
  });
});

describe('waiting on a pod', () => {
  it('--wait returns when the pod ends (its lock is released); times out otherwise', async () => {
    const { uuid } = fakePod(dataDir, 'run');
    const h = await hold(uuid);
    const pod = await findPod(dataDir, runtimeDir, uuid);
    await expect(waitExited(pod, 300)).rejects.toThrow(`timed out waiting for pod "${uuid}" to exit`);
    const t0 = Date.now();
    const done = waitExited(pod, 10_000);
    await sleep(300);
    await h.kill('SIGTERM');
    await done;
    expect(Date.now() - t0).toBeLessThan(5000);
    // An exited pod: at once.
    await waitExited(pod, 0);
  });

  it('--wait-ready returns once every app has started', async () => {
    const { uuid, dir } = fakePod(dataDir, 'run', { apps: [{ name: 'a', started: true }, { name: 'b' }] });
    await hold(uuid);
    const pod = await findPod(dataDir, runtimeDir, uuid);
    await expect(waitReady(pod, 300)).rejects.toThrow('to become ready');
    const ready = waitReady(pod, 10_000);
    await sleep(200);
    fs.writeFileSync(path.join(dir, 'status', 'b.started'), '');
    await ready;
  });

  it('--wait-ready on a pod that ended before its apps started fails', async () => {
    const { uuid } = fakePod(dataDir, 'run', { apps: [{ name: 'a' }] });
    await expect(waitReady(await findPod(dataDir, runtimeDir, uuid), 5000)).rejects.toThrow(`pod "${uuid}" is not running`);
  });
});

describe('logs', () => {
  it('one app: the log as is; several: every line prefixed with its app; --app picks one', async () => {
    const one = fakePod(dataDir, 'run', { apps: [{ name: 'web', log: 'hello\nworld\n' }] });
    let out = '';
    await podLogs(await findPod(dataDir, runtimeDir, one.uuid), { follow: false, write: (s) => (out += s) });
    expect(out).toBe('hello\nworld\n');
    const two = fakePod(dataDir, 'run', { apps: [{ name: 'a', log: 'a1\na2\n' }, { name: 'bb', log: 'b1\nno newline' }] });
    out = '';
    await podLogs(await findPod(dataDir, runtimeDir, two.uuid), { follow: false, write: (s) => (out += s) });
    expect(out).toBe('a: a1\na: a2\nbb: b1\nbb: no newline\n');
    out = '';
    await podLogs(await findPod(dataDir, runtimeDir, two.uuid), { app: 'bb', follow: false, write: (s) => (out += s) });
    expect(out).toBe('b1\nno newline');
    await expect(podLogs(await findPod(dataDir, runtimeDir, two.uuid), { app: 'zz', follow: false, write: () => undefined })).rejects.toThrow('app "zz" is not present');
  });

  it('--follow prints what is appended until the pod ends, then returns', async () => {
    const { uuid, dir } = fakePod(dataDir, 'run', { apps: [{ name: 'web', log: 'first\n' }] });
    const h = await hold(uuid);
    let out = '';
    const done = podLogs(await findPod(dataDir, runtimeDir, uuid), { follow: true, write: (s) => (out += s), pollMs: 50 });
    await sleep(200);
    expect(out).toBe('first\n');
    fs.appendFileSync(path.join(dir, 'logs', 'web.log'), 'second\n');
    await sleep(200);
    expect(out).toBe('first\nsecond\n');
    fs.appendFileSync(path.join(dir, 'logs', 'web.log'), 'last words\n');
    await h.kill('SIGTERM');
    await done;
    expect(out).toBe('first\nsecond\nlast words\n');
  });
});
