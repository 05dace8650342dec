import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPSULE, errorLines, makeWorld, type World } from '../helpers/cli.js';
import { simpleAci } from '../helpers/images.js';
import { expectedId, fetchInsecure, key64, listJson, short32, storeFiles, storeViolations, treeRemovalLines, writeImage } from '../helpers/store-check.js';

const NAME = 'example.com/crash';

/** What each crash point leaves behind before gc (proves the process died where it says). */
const POINTS: { at: string; tmp: boolean; blob: boolean; tree: boolean }[] = [
  { at: 'after-extract', tmp: true, blob: false, tree: false },
  { at: 'before-blob-commit', tmp: true, blob: false, tree: false },
  { at: 'after-blob-commit', tmp: true, blob: true, tree: false },
  { at: 'before-tree-commit', tmp: true, blob: true, tree: false },
  { at: 'before-index', tmp: false, blob: true, tree: true },
];

/** A crash leaves nothing that reads as an image; `render` of the name fails cleanly. */
async function expectNothingVisible(w: World): Promise<void> {
  expect(await listJson(w)).toEqual([]);
  const out = path.join(w.base, 'render-out');
  const r = await w.run(['image', 'render', NAME, out]);
  expect(r.code).toBe(254);
  expect(errorLines(r)).toHaveLength(1);
  expect(r.stderr).toMatch(/^image render: no image named "example\.com\/crash"/);
  expect(fs.existsSync(out)).toBe(false);
}

describe('crash safety: SIGKILL during fetch', () => {
  let aci: Buffer;
  let id: string;
  beforeAll(() => {
    aci = simpleAci(NAME, [
      { path: 'rootfs/etc/', type: 'Directory' },
      { path: 'rootfs/etc/hello', body: 'hello\n' },
      { path: 'rootfs/blob', body: randomBytes(200_000) },
    ]);
    id = expectedId(aci);
  });

  for (const p of POINTS) {
    describe(`killed at ${p.at}`, () => {
      let w: World;
      let file: string;
      beforeAll(async () => {
        w = makeWorld();
        file = writeImage(w, 'crash.aci', aci);
        const r = await fetchInsecure(w, [file], { CAPSULE_TEST_CRASH_AT: p.at });
        expect(r.signal, r.stderr).toBe('SIGKILL');
        expect(r.stdout).toBe('');
      });
      afterAll(() => w.cleanup());

      it('leaves only leftovers that no command shows as an image', async () => {
        const files = storeFiles(w.dir);
        expect(files.tmp.length > 0, `cas/tmp: ${files.tmp.join(', ')}`).toBe(p.tmp);
        expect(files.blobs.length, 'blobs').toBe(p.blob ? 1 : 0);
        expect(files.trees.length, 'trees').toBe(p.tree ? 1 : 0);
        for (const b of files.blobs) expect(b.actual).toBe(b.name); // a committed blob is whole
        await expectNothingVisible(w);
      });

      it('image gc removes the leftovers; a fresh fetch then works', async () => {
        const gc = await w.run(['image', 'gc']);
        expect(gc.code, gc.stderr).toBe(0);
        expect(gc.stdout).toBe('');
        if (p.tree) expect(gc.stderr).toContain('removed treestore "deps-sha512-');
        if (p.blob) expect(gc.stderr).toContain(key64(id));
        expect(storeFiles(w.dir)).toEqual({ blobs: [], trees: [], tmp: [] });
        await expectNothingVisible(w);

        const r = await fetchInsecure(w, ['--full', file]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout.trim()).toBe(key64(id));
        expect(await storeViolations(w)).toEqual([]);
        const out = path.join(w.base, 'rendered');
        expect((await w.run(['image', 'render', '--rootfs-only', NAME, out])).code).toBe(0);
        expect(fs.readFileSync(path.join(out, 'etc/hello'), 'utf8')).toBe('hello\n');
      });
    });

    it(`killed at ${p.at}, then fetched again without gc: the retry completes and gc finds only temp files`, async () => {
      const w = makeWorld();
      try {
        const file = writeImage(w, 'crash.aci', aci);
        expect((await fetchInsecure(w, [file], { CAPSULE_TEST_CRASH_AT: p.at })).signal).toBe('SIGKILL');
        const r = await fetchInsecure(w, [file]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe(`${short32(id)}\n`);
        expect((await listJson(w)).map((i) => i.id)).toEqual([key64(id)]);
        const trees = treeRemovalLines(w.dir);
        const gc = await w.run(['image', 'gc']);
        expect(gc.code).toBe(0);
        expect(gc.stdout).toBe('');
        expect(gc.stderr).toBe(trees);
        expect(await storeViolations(w)).toEqual([]);
        // gc removed the unused tree: verify renders it again from the blob, then checks it.
        expect((await w.run(['image', 'verify', NAME])).stderr).toContain('had no rendered tree; rendered it');
        expect((await w.run(['image', 'verify', NAME])).stdout).toContain('successfully verified checksum');
      } finally {
        w.cleanup();
      }
    });
  }

  it('an unknown crash point name does not crash', async () => {
    const w = makeWorld();
    try {
      const r = await fetchInsecure(w, [writeImage(w, 'ok.aci', aci)], { CAPSULE_TEST_CRASH_AT: 'nowhere' });
      expect(r.code).toBe(0);
    } finally {
      w.cleanup();
    }
  });
});

/** Runs `capsule fetch` and SIGKILLs it after `ms` (or lets it finish first). */
function fetchKilledAfter(w: World, file: string, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const child = spawn(CAPSULE, [...w.flags, '--insecure-options=image', 'fetch', file], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - start });
    });
  });
}

describe('crash safety: SIGKILL at a random moment of a bigger fetch', () => {
  let w: World;
  let file: string;
  let id: string;
  let full: number;
  beforeAll(async () => {
    w = makeWorld();
    // A few MB that do not compress, in several files, so the kill can land anywhere.
    const entries = Array.from({ length: 6 }, (_, i) => ({ path: `rootfs/part${i}`, body: randomBytes(700_000) }));
    const aci = simpleAci('example.com/big', [{ path: 'rootfs/etc/', type: 'Directory' }, ...entries, { path: 'rootfs/etc/done', body: 'yes\n' }]);
    id = expectedId(aci);
    file = writeImage(w, 'big.aci', aci);
    // Calibrate: how long an uninterrupted fetch takes here (in another store).
    const cal = makeWorld();
    try {
      const r = await fetchKilledAfter(cal, file, 120_000);
      expect(r.code).toBe(0);
      full = r.ms;
    } finally {
      cal.cleanup();
    }
  });
  afterAll(() => w.cleanup());

  it('the store is never left inconsistent, and the image can always be fetched afterwards', async () => {
    let killed = 0;
    for (let round = 0; round < 8; round++) {
      const at = 50 + Math.floor(Math.random() * full);
      const r = await fetchKilledAfter(w, file, at);
      if (r.signal === 'SIGKILL') killed++;
      else expect(r.code, `round ${round} (kill at ${at} ms)`).toBe(0);
      // Either the image is fully there or not at all.
      const listed = await listJson(w);
      expect(listed.length).toBeLessThanOrEqual(1);
      if (listed.length === 1) {
        expect(listed[0]!.id).toBe(key64(id));
        const v = await w.run(['image', 'verify', 'example.com/big']);
        expect(v.code, v.stderr).toBe(0);
      } else {
        const r = await w.run(['image', 'render', 'example.com/big', path.join(w.base, 'nope')]);
        expect(r.code, r.stderr).toBe(254);
      }
      const gc = await w.run(['image', 'gc']);
      expect(gc.code, gc.stderr).toBe(0);
      expect(await storeViolations(w)).toEqual([]);
      if (listed.length === 1) {
        const rm = await w.run(['image', 'rm', 'example.com/big']);
        expect(rm.code, rm.stderr).toBe(0);
      }
    }
    expect(killed).toBeGreaterThan(0);
    const r = await fetchInsecure(w, ['--full', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(key64(id));
    expect(await storeViolations(w)).toEqual([]);
  });
});
