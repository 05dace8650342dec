// A hostile archive signed by a key trusted for its name is still rejected: the signature says
// who made the image, not that it is safe to unpack. The control test shows the same key and
// trust set-up import a benign image, so the rejections below come from the archive checks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectRejected, makeVictim, climb, snapshot } from '../helpers/victim.js';
import { makeWorld, type RunResult, type World } from '../helpers/cli.js';
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


let world: World;
let victim: string;

beforeEach(async () => {
  world = makeWorld('capsule-sec-');
  const trust = await world.run(['trust', '--prefix', 'example.com/signed', '--skip-fingerprint-review', keyFile]);
  expect(trust.code, trust.stderr).toBe(0);
  victim = makeVictim(world);
});
afterEach(() => world.cleanup());

/** Rejected by the archive checks, not by signature or trust (the image is properly signed). */
async function expectRefusal(r: RunResult, before: Record<string, string>, problem: RegExp): Promise<void> {
  const line = await expectRejected(world, victim, r, before, problem, { unsigned: false });
  expect(line).not.toMatch(/signature|trusted/);
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
    await expectRefusal(r, before, /entry "rootfs\/a\/pwned" would be written through the symlink "rootfs\/a"/);
  });

  it('signed image with a ".." entry name reaching the victim', async () => {
    const { r, before } = await fetchSigned('example.com/signed', [{ path: `rootfs/${climb(victim)}/pwned`, body: 'pwned' }]);
    await expectRefusal(r, before, /entry name ".*" contains "\.\."/);
  });

  it('signed image with a hardlink to a file in the victim directory', async () => {
    const { r, before } = await fetchSigned('example.com/signed', [{ path: 'rootfs/h', type: 'Link', linkpath: `${victim}/secret` }]);
    await expectRefusal(r, before, /absolute hardlink target ".*\/victim\/secret"/);
  });

  it('signed image with a setuid file', async () => {
    const { r, before } = await fetchSigned('example.com/signed', [{ path: 'rootfs/bin/su', body: '#!/bin/sh\n', mode: 0o4755 }]);
    await expectRefusal(r, before, /"rootfs\/bin\/su" has the setuid bit set/);
  });
});
