import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRegistriesD, lookasideFor } from '../../../../src/oci/signing/registries-d.js';
import { signatureUrl } from '../../../../src/oci/signing/lookaside.js';
import { parseOciReference } from '../../../../src/oci/reference.js';
import type { Sha256Digest } from '../../../../src/oci/types.js';

const dirs: string[] = [];
function conf(files: Record<string, string>): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-or-regd-'));
  dirs.push(d);
  fs.mkdirSync(path.join(d, 'registries.d'));
  for (const [n, t] of Object.entries(files)) fs.writeFileSync(path.join(d, 'registries.d', n), t);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('registries.d', () => {
  it('picks the most specific scope by whole segments, then default-docker', async () => {
    const c = await loadRegistriesD([
      conf({
        'a.yaml': 'default-docker:\n  lookaside: https://default.example/sigs/\ndocker:\n  r.example:\n    sigstore: file:///reg\n  r.example/team:\n    lookaside: file:///team\n    lookaside-staging: file:///staging\n',
      }),
    ]);
    expect(lookasideFor(c, parseOciReference('r.example/team/app:1'))?.lookaside).toBe('file:///team');
    expect(lookasideFor(c, parseOciReference('r.example/teams/app:1'))?.lookaside).toBe('file:///reg');
    expect(lookasideFor(c, parseOciReference('busybox'))?.lookaside).toBe('https://default.example/sigs');
  });
  it('a later directory replaces an earlier one per scope', async () => {
    const c = await loadRegistriesD([conf({ 'a.yaml': 'docker:\n  r.example:\n    lookaside: file:///sys\n' }), conf({ 'b.yaml': 'docker:\n  r.example:\n    lookaside: file:///local\n' })]);
    expect(lookasideFor(c, parseOciReference('r.example/x'))?.lookaside).toBe('file:///local');
  });
  it.each([
    [{ 'a.yaml': 'docker:\n  r.example:\n    lookaside: file:///a\n  r.example:\n    lookaside: file:///b\n' }, /invalid YAML: .*[Mm]ap keys must be unique/],
    [{ 'a.yaml': 'docker:\n  r.example:\n    lookaside: file:///a\n', 'b.yaml': 'docker:\n  r.example:\n    lookaside: file:///b\n' }, /also set in/],
    [{ 'a.yaml': 'docker:\n  r.example:\n    lookaside: ftp://x\n' }, /ftp: URLs are not supported/],
    [{ 'a.yaml': 'docker:\n  r.example:\n    lookasid: file:///x\n' }, /unknown key "lookasid"/],
    [{ 'a.yaml': 'dockr: {}\n' }, /unknown key "dockr"/],
    [{ 'a.yaml': 'docker:\n  "https://r.example":\n    lookaside: file:///x\n' }, /is not a scope/],
    [{ 'a.yaml': 'docker:\n  r.example:\n    lookaside: file:///a\n    sigstore: file:///b\n' }, /both "lookaside" and its older name/],
    [{ 'a.yaml': '- a\n' }, /expected a mapping/],
  ])('refuses case %#', async (files, why) => {
    await expect(loadRegistriesD([conf(files)])).rejects.toThrow(why);
  });
});

describe('signatureUrl', () => {
  it('follows containers lookaside layout', () => {
    const d = `sha256:${'a'.repeat(64)}` as Sha256Digest;
    expect(signatureUrl('file:///s', parseOciReference('busybox'), d, 2)).toBe(`file:///s/library/busybox@sha256=${'a'.repeat(64)}/signature-2`);
  });
});
