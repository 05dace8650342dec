// `image gc` racing `prepare`/`run` (issue 12 §5): a pod being prepared had found its rendered
// tree but not yet written the runtime.json that names it, so image gc (which reads pods'
// trees) did not see it and removed the tree (and the image) under it; the pod then failed to
// mount its overlay. The window is held open with the env-gated test pause (src/sys/crash-point.ts),
// not with sleeps: prepare stops right after pinning its images and trees, image gc
// --grace-period=0s runs to completion, then prepare goes on and the pod runs.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePodWorld, podSkipReason, waitFor, type PodWorld } from '../helpers/pods.js';
import { listJson, storeFiles } from '../helpers/store-check.js';
import { busyboxEntries, buildImage, writeImageLayout } from '../helpers/oci-images.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping image gc race tests: ${skip}\n`);

describe.skipIf(skip !== null)('image gc while a pod is being prepared', () => {
  let w: PodWorld;
  beforeAll(async () => {
    w = await makePodWorld('capsule-sec-hd-');
  }, 120_000);
  afterAll(async () => w?.teardown());

  it('keeps the tree and the image a pod has pinned but not yet recorded; the pod then runs', async () => {
    const pause = path.join(w.base, 'paused');
    const prep = w.spawnRun(['prepare', w.probe, '--exec=/probe', '--', 'exit', '7'], { CAPSULE_TEST_PAUSE_AT: 'pod-images-pinned', CAPSULE_TEST_PAUSE_FILE: pause });
    try {
      await waitFor('prepare to reach the window', () => fs.existsSync(pause) || prep.exitCode !== null);
      expect(prep.exitCode, prep.err()).toBeNull();
      // The pod directory exists without its runtime.json: invisible to a pod scan.
      const embryoLike = w.pods().filter((p) => !fs.existsSync(path.join(p, 'runtime.json')));
      expect(embryoLike).toHaveLength(1);
      const treesBefore = storeFiles(w.dir).trees.map((t) => t.name);
      const gc = await w.run(['image', 'gc', '--grace-period=0s']);
      expect(gc.code, gc.stderr).toBe(0);
      // The probe image and its tree stay (pinned); busybox, unused, goes with its tree.
      expect((await listJson(w)).map((i) => i.id)).toEqual([w.probe]);
      const treesAfter = storeFiles(w.dir).trees.map((t) => t.name);
      expect(treesAfter).toHaveLength(1);
      expect(treesBefore).toContain(treesAfter[0]);
    } finally {
      fs.rmSync(pause, { force: true });
    }
    expect(await prep.exited, prep.err()).toBe(0);
    const uuid = prep.out().trim();
    // Now recorded by the pod itself: another gc keeps it too, and the pod runs from it.
    expect((await w.run(['image', 'gc', '--grace-period=0s'])).code).toBe(0);
    const r = await w.run(['run-prepared', uuid]);
    expect(r.code, r.stderr).toBe(7);
  }, 120_000);

  it('a pin left by a SIGKILLed prepare does not keep anything forever', async () => {
    const pause = path.join(w.base, 'paused-kill');
    const prep = w.spawnRun(['prepare', w.probe], { CAPSULE_TEST_PAUSE_AT: 'pod-images-pinned', CAPSULE_TEST_PAUSE_FILE: pause });
    await waitFor('prepare to reach the window', () => fs.existsSync(pause) || prep.exitCode !== null);
    const pid = Number(fs.readFileSync(pause, 'utf8'));
    process.kill(pid, 'SIGKILL');
    await prep.exited;
    fs.rmSync(pause, { force: true });
    const pins = path.join(w.dir, 'locks', 'pins');
    expect(fs.readdirSync(pins)).toHaveLength(1);
    await w.run(['image', 'gc', '--grace-period=0s']);
    expect(fs.readdirSync(pins)).toEqual([]);
  }, 120_000);

  it('an OCI image (its layer blobs and its layer tree) is kept the same way while pinned', async () => {
    const img = buildImage({ layers: [{ entries: busyboxEntries() }], run: { Cmd: ['/bin/sh', '-c', 'exit 5'], Env: ['PATH=/bin'] } });
    const ref = `oci:${writeImageLayout(path.join(w.base, 'oci-layout'), img, 'v1')}:v1`;
    const pause = path.join(w.base, 'paused-oci');
    const prep = w.spawnRun(['--insecure-options=image', 'prepare', ref], { CAPSULE_TEST_PAUSE_AT: 'pod-images-pinned', CAPSULE_TEST_PAUSE_FILE: pause });
    try {
      await waitFor('prepare to reach the window', () => fs.existsSync(pause) || prep.exitCode !== null);
      expect(prep.exitCode, prep.err()).toBeNull();
      const ociBlobs = (): string[] => fs.readdirSync(path.join(w.dir, 'cas', 'blob', 'sha256'), { recursive: true }).map(String).filter((n) => /[0-9a-f]{64}$/.test(n)).sort();
      const blobsBefore = ociBlobs();
      const treesBefore = storeFiles(w.dir).trees.map((t) => t.name).filter((n) => n.startsWith('layers-'));
      expect(treesBefore).toHaveLength(1);
      const gc = await w.run(['image', 'gc', '--grace-period=0s']);
      expect(gc.code, gc.stderr).toBe(0);
      expect((await listJson(w)).map((i) => i.id)).toContain(`sha256:${img.config.digest.slice('sha256:'.length)}`);
      expect(storeFiles(w.dir).trees.map((t) => t.name)).toContain(treesBefore[0]);
      expect(ociBlobs()).toEqual(blobsBefore);
    } finally {
      fs.rmSync(pause, { force: true });
    }
    expect(await prep.exited, prep.err()).toBe(0);
    const r = await w.run(['run-prepared', prep.out().trim()]);
    expect(r.code, r.stderr).toBe(5);
  }, 120_000);
});
