import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findPod } from '../../../../src/stage0/pod/pod.js';
import { gcPods, type GcHooks } from '../../../../src/stage0/pod/pod-gc.js';
import { mountsUnder } from '../../../../src/stage0/pod/pod-mounts.js';
import { removePod } from '../../../../src/stage0/pod/pod-rm.js';
import type { PodRuntime } from '../../../../src/stage1/contract.js';
import { fakePod, holdLock, lockFileOf, type Holder } from '../../../integration/pods-fixtures.js';

let base: string;
let dataDir: string;
let runtimeDir: string;
const holders: Holder[] = [];

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-gc-'));
  dataDir = path.join(base, 'var');
  runtimeDir = path.join(base, 'run');
});
afterEach(async () => {
  for (const h of holders.splice(0)) await h.kill();
  fs.rmSync(base, { recursive: true, force: true });
});

const where = (uuid: string): string[] => ['embryo', 'prepare', 'prepared', 'run', 'exited-garbage', 'garbage'].filter((d) => fs.existsSync(path.join(dataDir, 'pods', d, uuid)));

function recorder(): { hooks: GcHooks; log: string[]; gcCalls: string[]; stage1Gc: (dir: string, r: PodRuntime) => Promise<void> } {
  const log: string[] = [];
  const gcCalls: string[] = [];
  return {
    log,
    gcCalls,
    stage1Gc: (_dir, r) => {
      gcCalls.push(r.uuid);
      return Promise.resolve();
    },
    hooks: {
      markedExited: (u) => log.push(`mark ${u}`),
      markedAborted: (u) => log.push(`aborted ${u}`),
      expiredPrepared: (u) => log.push(`expired ${u}`),
      collecting: (u) => log.push(`collect ${u}`),
      withinGrace: (u) => log.push(`grace ${u}`),
      failed: (u, e) => log.push(`failed ${u} ${String(e)}`),
      warn: (m) => log.push(`warn ${m}`),
      debug: () => undefined,
    },
  };
}

describe('gc', () => {
  it('mark: exited pods to exited-garbage, aborted prepares to garbage; running and preparing pods untouched', async () => {
    const exited = fakePod(dataDir, 'run').uuid;
    const running = fakePod(dataDir, 'run').uuid;
    const aborted = fakePod(dataDir, 'prepare').uuid;
    const preparing = fakePod(dataDir, 'prepare').uuid;
    holders.push(await holdLock(runtimeDir, running), await holdLock(runtimeDir, preparing));
    const r = recorder();
    expect(await gcPods({ dataDir, runtimeDir, gracePeriodMs: 30 * 60_000, expirePreparedMs: 86_400_000, markOnly: true, stage1Gc: r.stage1Gc }, r.hooks)).toBe(0);
    expect(r.log.sort()).toEqual([`aborted ${aborted}`, `mark ${exited}`].sort());
    expect(where(exited)).toEqual(['exited-garbage']);
    expect(where(aborted)).toEqual(['garbage']);
    expect(where(running)).toEqual(['run']);
    expect(where(preparing)).toEqual(['prepare']);
  });

  it('sweep: within the grace period kept (and said so); after it, stage1 gc then removal, lock file too', async () => {
    const a = fakePod(dataDir, 'run').uuid;
    fs.writeFileSync(lockFileOf(runtimeDir, a), '');
    const r = recorder();
    await gcPods({ dataDir, runtimeDir, gracePeriodMs: 30 * 60_000, expirePreparedMs: 86_400_000, markOnly: false, stage1Gc: r.stage1Gc }, r.hooks);
    expect(r.log).toEqual([`mark ${a}`, `grace ${a}`]);
    expect(where(a)).toEqual(['exited-garbage']);
    const r2 = recorder();
    // The grace period counts from the mark (the directory's ctime): a later gc with a shorter one deletes it.
    await gcPods({ dataDir, runtimeDir, gracePeriodMs: 0, expirePreparedMs: 86_400_000, markOnly: false, stage1Gc: r2.stage1Gc }, r2.hooks);
    expect(r2.log).toEqual([`collect ${a}`]);
    expect(r2.gcCalls).toEqual([a]);
    expect(where(a)).toEqual([]);
    expect(fs.existsSync(lockFileOf(runtimeDir, a))).toBe(false);
  });

  it('a zero grace period collects a pod marked moments ago, even when the clock reads earlier than its mark', async () => {
    const a = fakePod(dataDir, 'run').uuid;
    const r = recorder();
    await gcPods({ dataDir, runtimeDir, gracePeriodMs: 30 * 60_000, expirePreparedMs: 86_400_000, markOnly: true, stage1Gc: r.stage1Gc }, r.hooks);
    expect(where(a)).toEqual(['exited-garbage']);
    const r2 = recorder();
    // Whole-millisecond clock vs sub-millisecond ctime: "now" may come out just before the mark.
    await gcPods({ dataDir, runtimeDir, gracePeriodMs: 0, expirePreparedMs: 0, markOnly: false, stage1Gc: r2.stage1Gc, now: () => Date.now() - 5 }, r2.hooks);
    expect(r2.log).toEqual([`collect ${a}`]);
    expect(where(a)).toEqual([]);
  });

  it('expired prepared pods go to garbage and are deleted; young ones stay; garbage without runtime.json is fine', async () => {
    const prepared = fakePod(dataDir, 'prepared').uuid;
    const junk = fakePod(dataDir, 'garbage', { noRuntime: true, noManifest: true }).uuid;
    const r = recorder();
    await gcPods({ dataDir, runtimeDir, gracePeriodMs: 0, expirePreparedMs: 86_400_000, markOnly: false, stage1Gc: r.stage1Gc }, r.hooks);
    expect(where(prepared)).toEqual(['prepared']);
    expect(where(junk)).toEqual([]);
    expect(r.gcCalls).toEqual([]);
    const r2 = recorder();
    await gcPods({ dataDir, runtimeDir, gracePeriodMs: 0, expirePreparedMs: 0, markOnly: false, stage1Gc: r2.stage1Gc }, r2.hooks);
    expect(r2.log).toEqual([`expired ${prepared}`, `collect ${prepared}`]);
    expect(where(prepared)).toEqual([]);
  });

  it('pods locked by someone else are skipped silently; a failing stage1 gc is a warning, the pod still goes', async () => {
    const held = fakePod(dataDir, 'exited-garbage').uuid;
    const other = fakePod(dataDir, 'exited-garbage').uuid;
    holders.push(await holdLock(runtimeDir, held));
    const r = recorder();
    await gcPods({ dataDir, runtimeDir, gracePeriodMs: 0, expirePreparedMs: 0, markOnly: false, stage1Gc: () => Promise.reject(new Error('cgroup busy')) }, r.hooks);
    expect(r.log).toEqual([`collect ${other}`, `warn problem performing stage1 GC on "${other}"`]);
    expect(where(held)).toEqual(['exited-garbage']);
    expect(where(other)).toEqual([]);
  });

  it('removes lock files whose pod is gone, not those of live pods', async () => {
    const live = fakePod(dataDir, 'prepared').uuid;
    fs.writeFileSync(lockFileOf(runtimeDir, live), '');
    const orphan = '11111111-2222-4333-8444-555555555555';
    fs.writeFileSync(lockFileOf(runtimeDir, orphan), '');
    const r = recorder();
    await gcPods({ dataDir, runtimeDir, gracePeriodMs: 0, expirePreparedMs: 86_400_000, markOnly: false, stage1Gc: r.stage1Gc }, r.hooks);
    expect(fs.existsSync(lockFileOf(runtimeDir, live))).toBe(true);
    expect(fs.existsSync(lockFileOf(runtimeDir, orphan))).toBe(false);
  });

  it('an aborted prepare that had reserved a uid range but never wrote runtime.json gives the range back; another pod keeps its own', async () => {
    const aborted = fakePod(dataDir, 'prepare', { noRuntime: true }).uuid;
    const other = fakePod(dataDir, 'prepared').uuid;
    const ranges = path.join(dataDir, 'uid-ranges');
    fs.mkdirSync(ranges, { recursive: true });
    fs.writeFileSync(path.join(ranges, String(0x20000000)), `${aborted}\n`);
    fs.writeFileSync(path.join(ranges, String(0x20010000)), `${other}\n`);
    const r = recorder();
    await gcPods({ dataDir, runtimeDir, gracePeriodMs: 0, expirePreparedMs: 86_400_000, markOnly: false, stage1Gc: r.stage1Gc }, r.hooks);
    expect(where(aborted)).toEqual([]);
    expect(fs.readdirSync(ranges)).toEqual([String(0x20010000)]);
  });

  it('refuses to delete a pod with something still mounted inside (mountinfo parsing)', () => {
    const info = [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '90 22 0:50 / /var/lib/capsule/pods/garbage/abc/stage1/rootfs rw - overlay overlay rw',
      '91 90 0:51 / /var/lib/capsule/pods/garbage/abc/stage1/rootfs/proc rw - proc proc rw',
      '92 22 0:52 / /var/lib/capsule/pods/garbage/abcd rw - tmpfs tmpfs rw',
      '93 22 0:53 / /var/lib/capsule/pods/garbage/abc/with\\040space rw - tmpfs tmpfs rw',
    ].join('\n');
    expect(mountsUnder('/var/lib/capsule/pods/garbage/abc', info)).toEqual([
      '/var/lib/capsule/pods/garbage/abc/stage1/rootfs/proc',
      '/var/lib/capsule/pods/garbage/abc/stage1/rootfs',
      '/var/lib/capsule/pods/garbage/abc/with space',
    ]);
  });
});

describe('rm', () => {
  const noop = { info: (): void => undefined, warn: (): void => undefined, debug: (): void => undefined };
  const gc = (): Promise<void> => Promise.resolve();

  it('removes exited, prepared and aborted pods at once', async () => {
    for (const d of ['run', 'prepared', 'prepare', 'exited-garbage', 'garbage'] as const) {
      const { uuid } = fakePod(dataDir, d);
      await removePod(await findPod(dataDir, runtimeDir, uuid), gc, noop);
      expect(where(uuid)).toEqual([]);
    }
  });

  it("refuses running, preparing and deleting pods with rkt's messages", async () => {
    const cases = [
      ['run', 'is currently running'],
      ['prepare', 'is currently being prepared'],
      ['embryo', 'is currently being prepared'],
      ['exited-garbage', 'is currently being deleted'],
      ['garbage', 'is currently being deleted'],
    ] as const;
    for (const [d, msg] of cases) {
      const { uuid } = fakePod(dataDir, d);
      const h = await holdLock(runtimeDir, uuid);
      holders.push(h);
      await expect(removePod(await findPod(dataDir, runtimeDir, uuid), gc, noop)).rejects.toThrow(`pod "${uuid}" ${msg}`);
      expect(where(uuid)).toEqual([d]);
    }
  });
});
