import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDirs, modesFor } from '../../../src/sys/shared-dir.js';

describe('modesFor: shared only when the data dir is setgid and not root-grouped', () => {
  const cases: [string, { mode: number; gid: number } | undefined, boolean][] = [
    ['missing', undefined, false],
    ['0700 root', { mode: 0o40700, gid: 0 }, false],
    ['2750 root group', { mode: 0o42750, gid: 0 }, false],
    ['0750 group capsule, no setgid', { mode: 0o40750, gid: 990 }, false],
    ['2750 group capsule', { mode: 0o42750, gid: 990 }, true],
  ];
  for (const [what, st, shared] of cases) it(what, () => expect(modesFor(st).shared).toBe(shared));
  it('shared store dirs are group-writable, blobs group-readable', () => {
    const m = modesFor({ mode: 0o42750, gid: 990 });
    expect([m.writableDir, m.readableDir, m.writableFile, m.readableFile]).toEqual([0o2770, 0o2750, 0o660, 0o640]);
  });
});

describe('makeDirs: the umask cannot narrow the mode', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-pc-dirs-'));
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));
  it('every created directory gets exactly the mode; existing ones are left alone', () => {
    fs.mkdirSync(path.join(base, 'old'), { mode: 0o700 });
    const old = process.umask(0o027);
    try {
      makeDirs(path.join(base, 'old', 'a', 'b'), 0o2770);
    } finally {
      process.umask(old);
    }
    expect(fs.statSync(path.join(base, 'old')).mode & 0o7777).toBe(0o700);
    expect(fs.statSync(path.join(base, 'old', 'a')).mode & 0o7777).toBe(0o2770);
    expect(fs.statSync(path.join(base, 'old', 'a', 'b')).mode & 0o7777).toBe(0o2770);
  });
});
