import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prefillVolume, resolveInTree } from '../../../src/stage0/volume-prefill.js';

let base: string;
let root: string;
beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-pr-prefill-'));
  root = path.join(base, 'rootfs');
  fs.mkdirSync(path.join(root, 'var/lib/data'), { recursive: true });
  fs.writeFileSync(path.join(root, 'var/lib/data/seed'), 'seed\n');
  fs.mkdirSync(path.join(base, 'outside'));
  fs.writeFileSync(path.join(base, 'outside/secret'), 'host\n');
  fs.symlinkSync('/var/lib/data', path.join(root, 'abs'));
  fs.symlinkSync('/', path.join(root, 'slash'));
  fs.symlinkSync('../../../../../../..', path.join(root, 'up'));
  fs.symlinkSync(path.join(base, 'outside'), path.join(root, 'host'));
  fs.symlinkSync('loop', path.join(root, 'loop'));
  fs.mkdirSync(path.join(root, 'var/lib/rel'));
  fs.symlinkSync('../data', path.join(root, 'var/lib/rel/d'));
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe('resolveInTree', () => {
  it.each([
    ['/var/lib/data', 'var/lib/data'],
    ['/abs', 'var/lib/data'],
    ['/slash/var/lib/data', 'var/lib/data'],
    ['/up/var/lib/data', 'var/lib/data'],
    ['/../../var/lib/data', 'var/lib/data'],
    ['/var/lib/rel/d', 'var/lib/data'],
    ['/', ''],
  ])('%s resolves to <root>/%s', (p, want) => expect(resolveInTree(root, p)).toBe(path.join(root, want)));

  it('an absolute symlink to a host path stays inside the tree (and is missing there)', () => expect(resolveInTree(root, '/host/secret')).toBeNull());
  it('a symlink loop is missing, not a hang', () => expect(resolveInTree(root, '/loop/x')).toBeNull());
  it('a file in the middle of a path is missing', () => expect(resolveInTree(root, '/var/lib/data/seed/x')).toBeNull());
});

describe('prefillVolume', () => {
  it("copies the image's content at the resolved path and takes its mode", () => {
    fs.chmodSync(path.join(root, 'var/lib/data'), 0o750);
    const dst = path.join(base, 'vol');
    fs.mkdirSync(dst, { mode: 0o755 });
    prefillVolume(root, '/abs', dst);
    expect(fs.readFileSync(path.join(dst, 'seed'), 'utf8')).toBe('seed\n');
    expect(fs.statSync(dst).mode & 0o777).toBe(0o750);
  });

  it('leaves the volume empty when the path leads outside the tree', () => {
    const dst = path.join(base, 'vol2');
    fs.mkdirSync(dst);
    prefillVolume(root, '/host', dst);
    expect(fs.readdirSync(dst)).toEqual([]);
  });
});
