// A SIGKILL of `prepare` (or `run`) while its pod is still in pods/embryo/ (issue 12 §5) left the
// directory there forever: `list` does not show embryos and no gc looked at them. The pod lock is
// now taken before the embryo directory exists, so an unlocked embryo is one whose creator died,
// and gc moves it to garbage and sweeps it. The victim: a pod another `prepare` is creating right
// then (held in the embryo state with the test pause), which gc must leave alone.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePodWorld, podSkipReason, waitFor, type PodWorld } from '../helpers/pods.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping embryo gc tests: ${skip}\n`);

describe.skipIf(skip !== null)('prepare killed while its pod is an embryo', () => {
  let w: PodWorld;
  beforeAll(async () => {
    w = await makePodWorld('capsule-sec-hd-');
  }, 120_000);
  afterAll(async () => w?.teardown());

  const embryos = (): string[] => {
    try {
      return fs.readdirSync(path.join(w.dir, 'pods', 'embryo'));
    } catch {
      return [];
    }
  };

  it('gc moves the dead embryo to garbage and removes it; a live embryo stays and goes on', async () => {
    const killed = await w.run(['prepare', w.probe], { env: { CAPSULE_TEST_CRASH_AT: 'pod-embryo' } });
    expect(killed.code).not.toBe(0);
    const [dead] = embryos();
    expect(dead).toBeDefined();
    expect(embryos()).toHaveLength(1);

    const pause = path.join(w.base, 'paused-embryo');
    const live = w.spawnRun(['prepare', w.probe], { CAPSULE_TEST_PAUSE_AT: 'pod-embryo', CAPSULE_TEST_PAUSE_FILE: pause });
    let liveUuid: string | undefined;
    try {
      await waitFor('prepare to reach the embryo state', () => fs.existsSync(pause) || live.exitCode !== null);
      expect(live.exitCode, live.err()).toBeNull();
      liveUuid = embryos().find((u) => u !== dead);
      expect(liveUuid).toBeDefined();

      const gc = await w.run(['gc', '--grace-period=0s']);
      expect(gc.code, gc.stderr).toBe(0);
      expect(gc.stderr).toContain(`moving failed prepare "${dead}" to garbage`);
      expect(gc.stdout).toContain(`Garbage collecting pod "${dead}"`);
      expect(w.pods().map((p) => path.basename(p))).not.toContain(dead);
      expect(fs.existsSync(path.join(w.runtimeDir, 'pods', `${dead}.lock`))).toBe(false);
      // The victim is untouched.
      expect(embryos()).toEqual([liveUuid]);
    } finally {
      fs.rmSync(pause, { force: true });
    }
    expect(await live.exited, live.err()).toBe(0);
    expect(live.out().trim()).toBe(liveUuid);
    expect(fs.existsSync(path.join(w.dir, 'pods', 'prepared', liveUuid!))).toBe(true);
  }, 120_000);
});
