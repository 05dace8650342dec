/**
 * `capsule trust`, `trust list` and `trust rm` through the real CLI with GnuPG-made keys:
 * refusals, the on-disk layout rkt defined, listing, removal and masking of system keys.
 * The interactive fingerprint review (needs a TTY) is in trust-review.test.ts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CAPSULE, errorLines, makeWorld, type RunResult, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { sampleImage } from '../helpers/images.js';
import { expectRejected, lower, placeImage, subkeyFingerprint, trustKey, writeKeyFile } from './verify-fixtures.js';

let gpg: GpgHome;
const UID = 'Trusty Signer <trusty@example.com>';
let fpr = '';
let subFpr = '';
const worlds: World[] = [];

function world(): World {
  const w = makeWorld('capsule-trust-');
  worlds.push(w);
  return w;
}

/** rkt's fingerprint display, written out independently of src/: 5 groups, two spaces, 5 groups. */
function rktDisplay(f: string): string {
  const g = f.toUpperCase().match(/.{4}/g)!;
  expect(g).toHaveLength(10);
  return `${g.slice(0, 5).join(' ')}  ${g.slice(5).join(' ')}`;
}

function exportKey(w: World, name = 'key.pub'): string {
  return gpg.exportPublic(fpr, path.join(w.base, name));
}

/** One failing trust command: exit 254, one `trust…:` line matching `problem`, nothing written. */
function expectTrustRefused(w: World, r: RunResult, problem: RegExp | string): string {
  const lines = errorLines(r);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^trust( rm)?: /);
  if (typeof problem === 'string') expect(lines[0]).toContain(problem);
  else expect(lines[0]).toMatch(problem);
  expect(r.code).toBe(254);
  expect(fs.existsSync(path.join(w.localConfig, 'trustedkeys'))).toBe(false);
  return lines[0]!;
}

function ok(r: RunResult): RunResult {
  expect(r.code, r.stderr).toBe(0);
  return r;
}

const listJson = (r: RunResult): unknown => JSON.parse(ok(r).stdout);

const mode = (p: string): string => (fs.statSync(p).mode & 0o7777).toString(8).padStart(4, '0');

beforeAll(() => {
  gpg = makeGpgHome();
  fpr = gpg.genKey(UID, 'ed25519', 'sign', 'never');
  gpg.gpg(['--quick-add-key', fpr, 'cv25519', 'encr', 'never']);
  subFpr = subkeyFingerprint(gpg, fpr);
});

afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});

afterAll(() => gpg.cleanup());

describe('refusals', () => {
  it('refuses to ask for review without a TTY and says how to skip it', async () => {
    const w = world();
    const r = await w.run(['trust', '--prefix', 'example.com/capsule', exportKey(w)]);
    const line = expectTrustRefused(w, r, 'unable to ask user to review fingerprint due to lack of tty');
    expect(line).toContain('--skip-fingerprint-review');
    expect(r.stdout).toBe('');
  });

  it('refuses --root together with --prefix', async () => {
    const w = world();
    const r = await w.run(['trust', '--root', '--prefix', 'example.com/capsule', '--skip-fingerprint-review', exportKey(w)]);
    expectTrustRefused(w, r, 'trust: --root and --prefix usage mutually exclusive');
  });

  it('refuses keys without --prefix or --root: that would trust them for every image', async () => {
    const w = world();
    const r = await w.run(['trust', '--skip-fingerprint-review', exportKey(w)]);
    const line = expectTrustRefused(w, r, /every image/);
    expect(line).toContain('--prefix');
    expect(line).toContain('--root');
  });

  it.each(['https://example.com/capsule', 'http://example.com/capsule', 'docker://example.com/capsule'])('refuses a prefix with a URL scheme (%s)', async (prefix) => {
    const w = world();
    const r = await w.run(['trust', '--prefix', prefix, '--skip-fingerprint-review', exportKey(w)]);
    expectTrustRefused(w, r, 'trust: --prefix must not contain a URL scheme, omit https://');
  });

  it('refuses a prefix that is not an image name', async () => {
    const w = world();
    const r = await w.run(['trust', '--prefix', 'Example.com/../capsule', '--skip-fingerprint-review', exportKey(w)]);
    expectTrustRefused(w, r, /invalid --prefix "Example\.com\/\.\.\/capsule"/);
  });

  it('refuses a private key file', async () => {
    const w = world();
    const secret = path.join(w.base, 'secret.asc');
    fs.writeFileSync(secret, gpg.gpg(['--armor', '--export-secret-keys', fpr]));
    expect(fs.readFileSync(secret, 'utf8')).toContain('PRIVATE KEY BLOCK');
    const r = await w.run(['trust', '--prefix', 'example.com/capsule', '--skip-fingerprint-review', secret]);
    expectTrustRefused(w, r, /holds a private key/);
    expect(r.stdout).toBe('');
  });

  it('refuses a key file that does not exist, naming it', async () => {
    const w = world();
    const missing = path.join(w.base, 'missing.pub');
    const r = await w.run(['trust', '--prefix', 'example.com/capsule', '--skip-fingerprint-review', missing]);
    expectTrustRefused(w, r, JSON.stringify(missing));
  });
});

describe('adding keys', () => {
  it('prints the fingerprint in rkt format on stdout and what it did on stderr', async () => {
    const w = world();
    const pub = exportKey(w);
    const r = await trustKey(w, ['--prefix', 'example.com/capsule'], pub);
    expect(r.stdout).toBe(`gpg key fingerprint is: ${rktDisplay(fpr)}\n\tSubkey fingerprint: ${rktDisplay(subFpr)}\n\t${UID}\n`);
    const file = path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', 'capsule', lower(fpr));
    expect(errorLines(r)).toEqual([
      'prefix: "example.com/capsule"',
      `key: ${JSON.stringify(pub)}`,
      `Trusting ${JSON.stringify(pub)} for prefix "example.com/capsule" without fingerprint review.`,
      `Added key for prefix "example.com/capsule" at ${JSON.stringify(file)}`,
    ]);
  });

  it('stores a prefix key as prefix.d/<prefix path>/<lowercase fingerprint>, armored; dirs 0755 and file 0644 even under umask 077', () => {
    const w = world();
    const pub = exportKey(w);
    const r = spawnSync('sh', ['-c', 'umask 077 && exec "$@"', 'sh', CAPSULE, ...w.flags, 'trust', '--prefix', 'example.com/capsule/', '--skip-fingerprint-review', pub], { encoding: 'utf8' });
    expect(r.stderr).toContain('Added key for prefix "example.com/capsule"');
    expect(r.status).toBe(0);
    const keys = path.join(w.localConfig, 'trustedkeys');
    const dir = path.join(keys, 'prefix.d', 'example.com', 'capsule');
    expect(fs.readdirSync(dir)).toEqual([lower(fpr)]);
    for (const d of [w.localConfig, keys, path.join(keys, 'prefix.d'), path.join(keys, 'prefix.d', 'example.com'), dir]) expect([d, mode(d)]).toEqual([d, '0755']);
    const file = path.join(dir, lower(fpr));
    expect(mode(file)).toBe('0644');
    const content = fs.readFileSync(file, 'utf8');
    expect(content).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----\n/);
    expect(content).not.toContain('PRIVATE');
    // gpg reads back the same key from the stored file.
    const shown = gpg.gpg(['--with-colons', '--import-options', 'show-only', '--import', file]);
    expect(shown.split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]).toBe(fpr);
  });

  it('stores a root key as root.d/<lowercase fingerprint>', async () => {
    const w = world();
    const r = await trustKey(w, ['--root'], exportKey(w));
    const file = path.join(w.localConfig, 'trustedkeys', 'root.d', lower(fpr));
    expect(r.stderr).toContain(`Added root key at ${JSON.stringify(file)}`);
    expect(fs.readdirSync(path.dirname(file))).toEqual([lower(fpr)]);
    expect(fs.existsSync(path.join(w.localConfig, 'trustedkeys', 'prefix.d'))).toBe(false);
    expect(mode(file)).toBe('0644');
  });

  it('accepts a binary (non-armored) key file and stores it armored', async () => {
    const w = world();
    const bin = path.join(w.base, 'key.gpg');
    gpg.gpg(['--output', bin, '--export', fpr]);
    await trustKey(w, ['--root'], bin);
    expect(fs.readFileSync(path.join(w.localConfig, 'trustedkeys', 'root.d', lower(fpr)), 'utf8')).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
  });
});

describe('trust list', () => {
  it('lists local prefix, local root and system keys with prefix, fingerprint, user_ids, origin, path', async () => {
    const w = world();
    const other = gpg.genKey('System Signer <system@example.com>');
    await trustKey(w, ['--prefix', 'example.com/capsule'], exportKey(w));
    await trustKey(w, ['--root'], exportKey(w));
    const systemFile = writeKeyFile(w.systemConfig, 'example.com/other', lower(other), gpg.gpg(['--armor', '--export', other]));
    const local = (...p: string[]): string => path.join(w.localConfig, 'trustedkeys', ...p);

    const r = await w.run(['trust', 'list', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { prefix: 'example.com/capsule', fingerprint: lower(fpr), user_ids: [UID], origin: 'local', path: local('prefix.d', 'example.com', 'capsule', lower(fpr)) },
      { prefix: 'example.com/other', fingerprint: lower(other), user_ids: ['System Signer <system@example.com>'], origin: 'system', path: systemFile },
      { prefix: 'root', fingerprint: lower(fpr), user_ids: [UID], origin: 'local', path: local('root.d', lower(fpr)) },
    ]);

    const pretty = ok(await w.run(['trust', 'list', '--format', 'json-pretty']));
    expect(JSON.parse(pretty.stdout)).toEqual(JSON.parse(r.stdout));
    expect(pretty.stdout.split('\n').length).toBeGreaterThan(3);

    const table = ok(await w.run(['trust', 'list'])).stdout.trimEnd().split('\n');
    expect(table[0]).toMatch(/^PREFIX\s+FINGERPRINT\s+ORIGIN\s+USER IDS$/);
    expect(table).toHaveLength(4);
    const bare = ok(await w.run(['trust', 'list', '--no-legend'])).stdout.trimEnd().split('\n');
    expect(bare).toEqual(table.slice(1));
  });

  it('lists nothing when no key is trusted', async () => {
    const w = world();
    const r = await w.run(['trust', 'list', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});

describe('trust rm', () => {
  let busybox: string;
  beforeAll(() => {
    busybox = sampleImage('busybox');
  });

  it('removes a local key; fetching an image it signed then fails', async () => {
    const w = world();
    await trustKey(w, ['--prefix', 'example.com/capsule'], exportKey(w));
    const file = path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', 'capsule', lower(fpr));
    const r = await w.run(['trust', 'rm', '--prefix', 'example.com/capsule', fpr]);
    expect(errorLines(r)).toEqual([`Removed key ${JSON.stringify(file)}`]);
    expect(r.code).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    expect(listJson(await w.run(['trust', 'list', '--format', 'json']))).toEqual([]);
    const img = placeImage(w, busybox);
    gpg.sign(img, fpr);
    await expectRejected(w, ['fetch', img], /not trusted/);
  });

  it('masks a system key with an empty local file and leaves the system file alone; fetching then fails', async () => {
    const w = world();
    const armored = gpg.gpg(['--armor', '--export', fpr]);
    const systemFile = writeKeyFile(w.systemConfig, 'example.com/capsule', lower(fpr), armored);
    expect(listJson(await w.run(['trust', 'list', '--format', 'json']))).toMatchObject([{ origin: 'system', path: systemFile }]);

    // Upper case, as gpg prints it: fingerprints are matched case-insensitively.
    const r = await w.run(['trust', 'rm', '--prefix', 'example.com/capsule', fpr.toUpperCase()]);
    const mask = path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', 'capsule', lower(fpr));
    expect(errorLines(r)).toEqual([`Masked system key with ${JSON.stringify(mask)}`]);
    expect(r.code).toBe(0);
    expect(fs.statSync(mask).size).toBe(0);
    expect(fs.readFileSync(systemFile, 'utf8')).toBe(armored);
    expect(listJson(await w.run(['trust', 'list', '--format', 'json']))).toEqual([]);

    const img = placeImage(w, busybox);
    gpg.sign(img, fpr);
    await expectRejected(w, ['fetch', img], /not trusted/);
  });

  it('needs the scope the key is trusted for', async () => {
    const w = world();
    await trustKey(w, ['--prefix', 'example.com/capsule'], exportKey(w));
    const r = await w.run(['trust', 'rm', fpr]);
    expect(errorLines(r)).toEqual(['trust rm: please provide the --prefix or --root the key is trusted for (capsule trust list shows both)']);
    expect(r.code).toBe(254);
  });

  it('fails for a key that is not trusted for that scope', async () => {
    const w = world();
    await trustKey(w, ['--prefix', 'example.com/capsule'], exportKey(w));
    const r = await w.run(['trust', 'rm', '--root', fpr]);
    expect(errorLines(r)).toEqual([`trust rm: no key ${lower(fpr)} is trusted for all images (root)`]);
    expect(r.code).toBe(254);
    expect(fs.existsSync(path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', 'capsule', lower(fpr)))).toBe(true);
  });
});
