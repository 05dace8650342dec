import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { sampleImage } from '../helpers/images.js';
import { expectedId, fetchInsecure, snapshot, storeFiles, storeViolations, writeImage } from '../helpers/store-check.js';

/** Contents plus mode and owner of every entry. */
function state(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rel, v] of Object.entries(snapshot(root))) {
    const st = fs.lstatSync(path.join(root, rel));
    out[rel] = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${v}`;
  }
  return out;
}

describe('capsule image verify', () => {
  let w: World;
  let id: string;
  let pristine: Record<string, string>;
  const NAME = 'example.com/capsule/busybox';
  const rootfs = (): string => {
    const trees = storeFiles(w.dir).trees;
    expect(trees).toHaveLength(1);
    return path.join(trees[0]!.dir, 'rootfs');
  };
  const verified = (arg: string): string => `successfully verified checksum for image: "${arg}" ("${id.slice(0, 7 + 64)}")\n`;

  beforeAll(async () => {
    w = makeWorld();
    const aci = fs.readFileSync(sampleImage('busybox'));
    id = expectedId(aci);
    expect((await fetchInsecure(w, [writeImage(w, 'busybox.aci', aci)])).code).toBe(0);
    pristine = state(rootfs());
  });
  afterAll(() => w.cleanup());

  it('an untouched tree verifies: rkt’s line on stdout, exit 0', async () => {
    const r = await w.run(['image', 'verify', NAME, id.slice(0, 12)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(verified(NAME) + verified(id.slice(0, 12)));
    expect(r.stderr).toBe('');
  });

  const tampers: [string, (root: string) => void][] = [
    ['a changed file', (root) => fs.appendFileSync(path.join(root, 'etc/passwd'), 'evil:x:0:0::/:/bin/sh\n')],
    ['a changed mode', (root) => fs.chmodSync(path.join(root, 'etc/group'), 0o666)],
    ['a removed file', (root) => fs.rmSync(path.join(root, 'etc/passwd'))],
    ['an added file', (root) => fs.writeFileSync(path.join(root, 'etc/backdoor'), 'x')],
    ['a retargeted symlink', (root) => {
      fs.rmSync(path.join(root, 'bin/sh'));
      fs.symlinkSync('/tmp/evil', path.join(root, 'bin/sh'));
    }],
  ];
  for (const [what, tamper] of tampers) {
    it(`${what} in tree/*/rootfs is reported and rendered again; the next verify succeeds`, async () => {
      tamper(rootfs());
      expect(state(rootfs())).not.toEqual(pristine);
      const r = await w.run(['image', 'verify', NAME]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`tree cache verification failed for image "${NAME}"`);
      expect(state(rootfs())).toEqual(pristine);
      const again = await w.run(['image', 'verify', NAME]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe(verified(NAME));
      expect(await storeViolations(w)).toEqual([]);
    });
  }

  it('a missing tree is rendered again', async () => {
    fs.rmSync(path.dirname(rootfs()), { recursive: true });
    const r = await w.run(['image', 'verify', NAME]);
    expect(r.code, r.stderr).toBe(0);
    expect(state(rootfs())).toEqual(pristine);
    expect((await w.run(['image', 'verify', NAME])).stdout).toBe(verified(NAME));
  });

  it('an unknown image: 254, one line', async () => {
    const r = await w.run(['image', 'verify', 'example.com/nope']);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
    expect(r.stdout).toBe('');
  });
});
