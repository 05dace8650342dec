/**
 * A full disk is said as such, with the filesystem: "no space left on device on the filesystem at
 * MOUNT (TYPE, …)", never SQLite's "disk I/O error". The data dir is a small tmpfs of this test.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, runCapsule, type RunResult, type World } from '../helpers/cli.js';
import { sampleImage } from '../helpers/images.js';

/** Writes into `file` until the filesystem refuses: the disk is then full. */
function fill(file: string): void {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd);
  }
  // Whatever a block still holds.
  const small = fs.openSync(`${file}.tail`, 'w');
  try {
    for (;;) fs.writeSync(small, Buffer.alloc(512));
  } catch {
    /* full */
  } finally {
    fs.closeSync(small);
  }
}

describe('on a full disk', () => {
  let w: World;
  let mnt: string;
  let image: string;
  let id: string;
  let flags: string[];
  const runWith = (args: string[]) => runCapsule([...flags, ...args], { env: { CAPSULE_RUNTIME_DIR: w.runtimeDir } });
  const says = () => new RegExp(`: no space left on device on the filesystem at ${mnt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(tmpfs, \\S+ free of 8MiB\\)$`);
  const full = (r: RunResult): string[] => errorLines(r).filter((l) => !l.includes(': warning: '));

  beforeAll(async () => {
    w = makeWorld('capsule-pc-full-');
    mnt = path.join(w.base, 'mnt');
    fs.mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', `capsule-pc-full-${path.basename(w.base)}`, mnt]);
    image = sampleImage('busybox');
    flags = [...w.flags.filter((f) => !f.startsWith('--dir=')), `--dir=${path.join(mnt, 'data')}`];
    const f = await runWith(['--insecure-options=image', 'fetch', image]);
    expect(f.code, f.stderr).toBe(0);
    id = f.stdout.trim();
    fill(path.join(mnt, 'filler'));
  });
  afterAll(() => {
    execFileSync('umount', ['-l', mnt]);
    w.cleanup();
  });


  it('run says "no space left on device" and names the filesystem, not "disk I/O error"', async () => {
    const r = await runWith(['run', id, '--exec=/bin/true']);
    expect(r.code).toBe(254);
    const lines = full(r);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^run: /);
    expect(lines[0]).toMatch(says());
    expect(r.stderr).not.toContain('disk I/O error');
  });

  it('fetch into the full store says the same', async () => {
    const other = path.join(w.base, 'copy.aci');
    // Another image (a different ID), so fetch has to write a blob.
    fs.writeFileSync(other, Buffer.concat([fs.readFileSync(image), Buffer.alloc(1024)]));
    const r = await runWith(['--insecure-options=image', 'fetch', other]);
    expect(r.code).toBe(254);
    const lines = full(r);
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^fetch: /);
    expect(lines[0]).toMatch(says());
  });

  it('nothing stored is lost: once space is free again the image is listed and its ID resolves', async () => {
    fs.rmSync(path.join(mnt, 'filler'));
    fs.rmSync(path.join(mnt, 'filler.tail'), { force: true });
    const r = await runWith(['image', 'list', '--full', '--no-legend']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(id.slice(0, 20));
    const m = await runWith(['image', 'cat-manifest', id]);
    expect(m.code, m.stderr).toBe(0);
  });
});
