/** Shared fixtures for the signature and trust integration tests: real keys, real CLI, real store. */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { errorLines, type RunResult, type World } from '../helpers/cli.js';
import type { GpgHome } from '../helpers/gpg.js';
import { bareName } from '../helpers/store-check.js';

export const IMAGE_NAME = 'example.com/capsule/busybox';

/** Copies an image into the world (so `X.aci.asc` beside it is this test's own) and returns its path. */
export function placeImage(world: World, src: string | Buffer, name = 'image.aci'): string {
  const dest = path.join(world.base, name);
  if (typeof src === 'string') fs.copyFileSync(src, dest);
  else fs.writeFileSync(dest, src);
  return dest;
}

/** gpg prints fingerprints in upper case; key files are named in lower case. */
export const lower = (fpr: string): string => fpr.toLowerCase();

/** The fingerprint of the signing subkey (second `fpr` line) of a gpg key. */
export function subkeyFingerprint(gpg: GpgHome, primary: string): string {
  const fprs = gpg
    .gpg(['--with-colons', '--fingerprint', '--fingerprint', primary])
    .split('\n')
    .filter((l) => l.startsWith('fpr:'))
    .map((l) => l.split(':')[9]!);
  if (fprs.length < 2) throw new Error(`key ${primary} has no subkey`);
  return fprs[1]!;
}

/** Runs `capsule trust --skip-fingerprint-review …` and insists that it worked. */
export async function trustKey(world: World, scopeArgs: string[], keyFile: string): Promise<RunResult> {
  const r = await world.run(['trust', ...scopeArgs, '--skip-fingerprint-review', keyFile]);
  expect(r.stderr).toMatch(/Added (root )?key/);
  expect(r.code).toBe(0);
  return r;
}

/** Puts an armored key straight into a keystore dir (system keys, misnamed files, masks). */
export function writeKeyFile(configDir: string, scope: string, fileName: string, content: string): string {
  const dir = scope === 'root' ? path.join(configDir, 'trustedkeys', 'root.d') : path.join(configDir, 'trustedkeys', 'prefix.d', ...scope.split('/'));
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, fileName);
  fs.writeFileSync(file, content);
  return file;
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => path.join(e.parentPath, e.name));
}

/** Nothing became visible: no image listed, no blob, no rendered tree. */
export async function expectNothingStored(world: World): Promise<void> {
  const list = await world.run(['image', 'list', '--format', 'json']);
  expect(list.code).toBe(0);
  expect(JSON.parse(list.stdout)).toEqual([]);
  expect(filesUnder(path.join(world.dir, 'cas', 'blob'))).toEqual([]);
  const trees = path.join(world.dir, 'tree');
  expect(fs.existsSync(trees) ? fs.readdirSync(trees) : []).toEqual([]);
}

/** Exit 254, exactly one stderr line matching `problem`, nothing stored. Returns that line. */
export async function expectRejected(world: World, args: string[], problem: RegExp): Promise<string> {
  const r = await world.run(args);
  const lines = errorLines(r);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^fetch: /);
  expect(lines[0]).toMatch(problem);
  expect(r.stdout).toBe('');
  expect(r.code).toBe(254);
  await expectNothingStored(world);
  return lines[0]!;
}

/** Exit 0, one image ID printed, the signer's identity reported, the image listed under its name. */
export async function expectAccepted(world: World, args: string[], signerUid: string, name = IMAGE_NAME): Promise<void> {
  const r = await world.run(args);
  expect(r.stderr).toContain(`image: signature verified:\n  ${signerUid}\n`);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^sha512-[0-9a-f]{32}\n$/);
  const list = await world.run(['image', 'list', '--format', 'json']);
  const images = JSON.parse(list.stdout) as { id: string; name: string }[];
  expect(images.map((i) => bareName(i.name))).toEqual([name]);
  expect(images[0]!.id.startsWith(r.stdout.trim())).toBe(true);
}

/** A key made and used by openpgp.js (not GnuPG): the other implementation users sign with. */
export interface OjsKey {
  fingerprint: string;
  uid: string;
  publicArmored: string;
  sign(file: string, out?: string): Promise<string>;
}

export async function makeOjsKey(kind: 'rsa3072' | 'ed25519' | 'ed25519-legacy' | 'ed25519-v6', name: string): Promise<OjsKey> {
  const pgp = await import('openpgp');
  const typeOpts =
    kind === 'rsa3072'
      ? ({ type: 'rsa', rsaBits: 3072 } as const)
      : kind === 'ed25519-legacy'
        ? ({ type: 'ecc', curve: 'curve25519Legacy' } as const)
        : ({ type: 'curve25519' } as const);
  const email = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}@example.com`;
  const { privateKey, publicKey } = await pgp.generateKey({ ...typeOpts, userIDs: [{ name, email }], format: 'object', config: { v6Keys: kind === 'ed25519-v6' } });
  return {
    fingerprint: publicKey.getFingerprint(),
    uid: `${name} <${email}>`,
    publicArmored: publicKey.armor(),
    async sign(file, out = `${file}.asc`) {
      const message = await pgp.createMessage({ binary: fs.readFileSync(file) });
      fs.writeFileSync(out, await pgp.sign({ message, signingKeys: privateKey, detached: true }));
      return out;
    },
  };
}
