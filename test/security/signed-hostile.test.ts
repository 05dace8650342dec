// A hostile archive signed by a key trusted for its name is still rejected: the signature says
// who made the image, not that it is safe to unpack. The control test shows the same key and
// trust set-up import a benign image, so the rejections below come from the archive checks.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type RunResult, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { simpleAci, type RawEntry } from '../helpers/images.js';

let gpg: GpgHome;
let fingerprint: string;
let keyDir: string;
let keyFile: string;

beforeAll(() => {
  gpg = makeGpgHome();
  fingerprint = gpg.genKey('Capsule Signed Hostile <signed@example.com>');
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-key-'));
  keyFile = gpg.exportPublic(fingerprint, path.join(keyDir, 'key.asc'));
});
afterAll(() => {
  gpg.cleanup();
  fs.rmSync(keyDir, { recursive: true, force: true });
});

const SECRET = 'victim data: must never change\n';

let world: World;
let victim: string;

beforeEach(async () => {
  world = makeWorld('capsule-sec-');
  const trust = await world.run(['trust', '--prefix', 'example.com/signed', '--skip-fingerprint-review', keyFile]);
  expect(trust.code, trust.stderr).toBe(0);
  victim = path.join(world.base, 'victim');
  fs.mkdirSync(victim);
  fs.writeFileSync(path.join(victim, 'secret'), SECRET);
});
afterEach(() => world.cleanup());

/** Enough ".." to climb from any extraction directory to "/", then down to `abs`. */
const climb = (abs: string): string => `${'../'.repeat(40)}${abs.slice(1)}`;

/** Type, mode, link count, size, mtime and content of everything under `root` except `skip`. */
function snapshot(root: string, skip: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      if (p === skip) continue;
      const st = fs.lstatSync(p);
      const what = st.isSymbolicLink() ? `link:${fs.readlinkSync(p)}` : st.isFile() ? createHash('sha256').update(fs.readFileSync(p)).digest('hex') : st.isDirectory() ? 'dir' : 'special';
      out[path.relative(root, p)] = `${(st.mode & 0o177777).toString(8)} n${st.nlink} ${st.size} ${st.mtimeMs} ${what}`;
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

/** Every path under `dir` (none when it does not exist). */
function listAll(dir: string): string[] {
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]) : [];
}

/** Fetches `rootfs/` + entries + manifest named `name`, signed by the trusted key (hostile.aci.asc). */
async function fetchSigned(name: string, entries: RawEntry[]): Promise<{ r: RunResult; before: Record<string, string> }> {
  const file = path.join(world.base, 'hostile.aci');
  fs.writeFileSync(file, simpleAci(name, entries));
  gpg.sign(file, fingerprint);
  const before = snapshot(world.base, world.dir);
  const r = await world.run(['fetch', file]);
  return { r, before };
}

async function expectRejected(r: RunResult, before: Record<string, string>, problem: RegExp): Promise<void> {
  // The victim first, so an escape is reported as such: same content, link count, mode and mtime;
  // nothing new beside it or anywhere outside the store.
  expect(fs.readdirSync(victim)).toEqual(['secret']);
  expect(fs.readFileSync(path.join(victim, 'secret'), 'utf8')).toBe(SECRET);
  expect(fs.lstatSync(path.join(victim, 'secret')).nlink).toBe(1);
  expect(snapshot(world.base, world.dir)).toEqual(before);
  // Nothing stored: no image, no blob, no tree, no temp leftovers.
  const list = await world.run(['image', 'list', '--format', 'json']);
  expect(list.code).toBe(0);
  expect(JSON.parse(list.stdout)).toEqual([]);
  expect(listAll(path.join(world.dir, 'cas', 'tmp'))).toEqual([]);
  expect(listAll(path.join(world.dir, 'tree'))).toEqual([]);
  expect(listAll(path.join(world.dir, 'cas', 'blob')).filter((p) => !fs.statSync(path.join(world.dir, 'cas', 'blob', p)).isDirectory())).toEqual([]);
  // Then the refusal itself: exit 254, one line naming the problem.
  expect(r.code, r.stderr).toBe(254);
  expect(r.stdout).toBe('');
  const errors = errorLines(r);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(problem);
  expect(errors[0]).not.toMatch(/signature|trusted/);
}

describe('signed hostile images', () => {
  it('control: a benign image signed by the trusted key imports', async () => {
    const { r } = await fetchSigned('example.com/signed', [{ path: 'rootfs/etc/hostname', body: 'box\n' }]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sha512-[0-9a-f]{32}\n$/);
    expect(r.stderr).toContain('signature verified');
  });

  it('signed image with a symlink to the victim and a file written through it', async () => {
    const { r, before } = await fetchSigned('example.com/signed', [
      { path: 'rootfs/a', type: 'SymbolicLink', linkpath: victim },
      { path: 'rootfs/a/pwned', body: 'pwned' },
    ]);
    await expectRejected(r, before, /entry "rootfs\/a\/pwned" would be written through the symlink "rootfs\/a"/);
  });

  it('signed image with a ".." entry name reaching the victim', async () => {
    const { r, before } = await fetchSigned('example.com/signed', [{ path: `rootfs/${climb(victim)}/pwned`, body: 'pwned' }]);
    await expectRejected(r, before, /entry name ".*" contains "\.\."/);
  });

  it('signed image with a hardlink to a file in the victim directory', async () => {
    const { r, before } = await fetchSigned('example.com/signed', [{ path: 'rootfs/h', type: 'Link', linkpath: `${victim}/secret` }]);
    await expectRejected(r, before, /absolute hardlink target ".*\/victim\/secret"/);
  });

  it('signed image with a setuid file', async () => {
    const { r, before } = await fetchSigned('example.com/signed', [{ path: 'rootfs/bin/su', body: '#!/bin/sh\n', mode: 0o4755 }]);
    await expectRejected(r, before, /"rootfs\/bin\/su" has the setuid bit set/);
  });
});
