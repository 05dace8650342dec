import { execFileSync } from 'node:child_process';
/**
 * Every way an image signature must fail, through the real CLI: exit 254, one stderr line that
 * names the problem, and nothing in the store. Keys are made by GnuPG in a throwaway home.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeWorld, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { sampleImage, simpleAci } from '../helpers/images.js';
import { expectAccepted, expectRejected, lower, placeImage, subkeyFingerprint, trustKey, writeKeyFile } from './verify-fixtures.js';

let gpg: GpgHome;
let busybox: string;
let fixtures: string;
const keys = { ed: '', rsa: '', stranger: '', expired: '', revoked: '', subRevoked: '' };
const ED_UID = 'Ed Signer <ed@example.com>';
/** Signatures over the busybox image made before their key was revoked. */
const before = { revoked: '', subRevoked: '' };
const worlds: World[] = [];

function world(): World {
  const w = makeWorld('capsule-reject-');
  worlds.push(w);
  return w;
}

/** A world whose local keystore trusts `fpr` for `scope`, with the busybox image placed in it. */
async function setup(fpr: string, scope: string[] = ['--prefix', 'example.com/capsule']): Promise<{ w: World; img: string }> {
  const w = world();
  const img = placeImage(w, busybox);
  await trustKey(w, scope, gpg.exportPublic(fpr, path.join(w.base, 'key.pub')));
  return { w, img };
}

/**
 * A key that went bad after it was trusted: `capsule trust` refuses revoked and expired keys
 * (test/security/trust-adds-revoked-key.test.ts), so its updated copy is put into the keystore
 * the way a key refreshed by an administrator gets there.
 */
function setupWentBad(fpr: string): { w: World; img: string } {
  const w = world();
  const img = placeImage(w, busybox);
  writeKeyFile(w.localConfig, 'example.com/capsule', lower(fpr), gpg.gpg(['--armor', '--export', fpr]));
  return { w, img };
}

/** Revokes the subkey `index` of `fpr` with gpg's own key editor (reason 0, no description). */
function revokeSubkey(fpr: string, index: number): void {
  gpg.gpg(['--command-fd', '0', '--edit-key', fpr], `key ${index}\nrevkey\ny\n0\n\ny\nsave\n`);
}

beforeAll(() => {
  busybox = sampleImage('busybox');
  gpg = makeGpgHome();
  fixtures = fs.mkdtempSync(path.join(gpg.home, 'fixtures-'));
  keys.ed = gpg.genKey(ED_UID);
  keys.rsa = gpg.genKey('RSA Signer <rsa@example.com>', 'rsa3072', 'sign', 'never');
  keys.stranger = gpg.genKey('Stranger <stranger@example.com>');

  // Made (and used) in 2020 with a one-day lifetime: the signature was good when made, the key is expired now.
  const past = ['--faked-system-time', '20200101T000000!'];
  gpg.gpg([...past, '--quick-gen-key', 'Expired Signer <expired@example.com>', 'ed25519', 'sign', '1d']);
  keys.expired = gpg.gpg(['--with-colons', '--fingerprint', 'expired@example.com']).split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!;
  expect(gpg.gpg(['--with-colons', '--list-keys', keys.expired])).toMatch(/^pub:e:/m);

  // Revoked after signing, with the revocation certificate gpg made at key generation.
  keys.revoked = gpg.genKey('Revoked Signer <revoked@example.com>');
  before.revoked = gpg.sign(busybox, keys.revoked, { out: path.join(fixtures, 'revoked.asc') });
  const cert = fs.readFileSync(path.join(gpg.home, 'openpgp-revocs.d', `${keys.revoked}.rev`), 'utf8');
  gpg.gpg(['--import'], cert.replace(/^:-----BEGIN/m, '-----BEGIN'));
  expect(gpg.gpg(['--with-colons', '--list-keys', keys.revoked])).toMatch(/^pub:r:/m);

  // Signing subkey revoked after signing; the primary key stays valid.
  keys.subRevoked = gpg.genKey('Subkey Revoked <subrevoked@example.com>', 'ed25519', 'cert', 'never');
  gpg.gpg(['--quick-add-key', keys.subRevoked, 'ed25519', 'sign', 'never']);
  before.subRevoked = gpg.sign(busybox, `${subkeyFingerprint(gpg, keys.subRevoked)}!`, { out: path.join(fixtures, 'sub-revoked.asc') });
  revokeSubkey(keys.subRevoked, 1);
  expect(gpg.gpg(['--with-colons', '--list-keys', keys.subRevoked])).toMatch(/^sub:r:/m);
});

afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});

afterAll(() => gpg.cleanup());

describe('who signed', () => {
  it('rejects an unsigned image (no IMAGE.asc)', async () => {
    const { w, img } = await setup(keys.ed);
    await expectRejected(w, ['fetch', img], /error opening signature file ".*image\.aci\.asc"/);
  });

  it('rejects a signature by a key nobody trusted', async () => {
    const { w, img } = await setup(keys.ed);
    gpg.sign(img, keys.stranger);
    const line = await expectRejected(w, ['fetch', img], /not trusted.*unknown entity/);
    // The next step names the image's own name as the prefix to trust.
    const { name } = JSON.parse(execFileSync('tar', ['-xOf', img, 'manifest'], { encoding: 'utf8' })) as { name: string };
    expect(line).toMatch(new RegExp(`\\(trust the signing key with: capsule trust --prefix ${JSON.stringify(name).replace(/[.]/g, '\\.')} KEYFILE\\)$`));
  });

  it('rejects a key trusted only for another prefix (example.com/other)', async () => {
    const { w, img } = await setup(keys.ed, ['--prefix', 'example.com/other']);
    gpg.sign(img, keys.ed);
    await expectRejected(w, ['fetch', img], /trusted only for "example\.com\/other", not for "example\.com\/capsule\/busybox"/);
  });

  it('prefix example.com/capsule/busy does not cover example.com/capsule/busybox (whole segments only)', async () => {
    const { w, img } = await setup(keys.ed, ['--prefix', 'example.com/capsule/busy']);
    gpg.sign(img, keys.ed);
    await expectRejected(w, ['fetch', img], /trusted only for "example\.com\/capsule\/busy", not for "example\.com\/capsule\/busybox"/);
  });

  it('rejects a key filed under the fingerprint of another key (fingerprint mismatch)', async () => {
    const w = world();
    const img = placeImage(w, busybox);
    gpg.sign(img, keys.ed);
    writeKeyFile(w.localConfig, 'example.com/capsule', lower(keys.stranger), gpg.gpg(['--armor', '--export', keys.ed]));
    await expectRejected(w, ['fetch', img], /holds key [0-9a-f]{40}.*fingerprint mismatch/);
  });

  it('ignores a key file whose name is not a fingerprint at all', async () => {
    const w = world();
    const img = placeImage(w, busybox);
    gpg.sign(img, keys.ed);
    writeKeyFile(w.localConfig, 'example.com/capsule', 'ed-signer.asc', gpg.gpg(['--armor', '--export', keys.ed]));
    await expectRejected(w, ['fetch', img], /not trusted.*unknown entity/);
  });
});

describe('what was signed', () => {
  it('rejects the signature of other bytes', async () => {
    const { w, img } = await setup(keys.ed);
    const other = placeImage(w, simpleAci('example.com/capsule/busybox'), 'other.aci');
    fs.renameSync(gpg.sign(other, keys.ed), `${img}.asc`);
    await expectRejected(w, ['fetch', img], /Signed digest did not match/);
  });

  it('rejects a signature over the decompressed tar instead of the file as fetched', async () => {
    const { w, img } = await setup(keys.ed);
    const tar = path.join(w.base, 'image.tar');
    fs.writeFileSync(tar, zlib.gunzipSync(fs.readFileSync(img)));
    gpg.sign(tar, keys.ed, { out: `${img}.asc` });
    await expectRejected(w, ['fetch', img], /Signed digest did not match/);
  });
});

describe('malformed signatures', () => {
  /** The armored signature split into header, base64 body lines, and the rest. */
  function armorParts(file: string): { head: string[]; body: string[]; tail: string[] } {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const start = lines.indexOf('') + 1;
    const end = lines.findIndex((l) => l.startsWith('=') || l.startsWith('-----END'));
    return { head: lines.slice(0, start), body: lines.slice(start, end), tail: lines.slice(end) };
  }

  it('rejects a truncated signature', async () => {
    const { w, img } = await setup(keys.ed);
    const sig = gpg.sign(img, keys.ed);
    const text = fs.readFileSync(sig, 'utf8');
    fs.writeFileSync(sig, text.slice(0, Math.floor(text.length / 2)));
    await expectRejected(w, ['fetch', img], /Misformed armored text/);
  });

  it('rejects a signature whose signature value was altered', async () => {
    const { w, img } = await setup(keys.ed);
    const sig = gpg.sign(img, keys.ed);
    const { head, body, tail } = armorParts(sig);
    // The last body line holds the end of the EdDSA value; the issuer at the start stays intact.
    const last = body[body.length - 1]!;
    const i = Math.floor(last.length / 3);
    body[body.length - 1] = `${last.slice(0, i)}${last[i] === 'A' ? 'B' : 'A'}${last.slice(i + 1)}`;
    fs.writeFileSync(sig, [...head, ...body, ...tail].join('\n'));
    await expectRejected(w, ['fetch', img], /Signature verification failed|did not match/);
  });

  it('rejects a signature whose packets are garbage', async () => {
    const { w, img } = await setup(keys.ed);
    const sig = gpg.sign(img, keys.ed);
    const { head, body, tail } = armorParts(sig);
    fs.writeFileSync(sig, [...head, ...body.map((l) => l.replace(/[A-Za-z0-9+/]/g, 'Q')), ...tail].join('\n'));
    await expectRejected(w, ['fetch', img], /does not conform to a valid OpenPGP format/);
  });

  it('rejects a binary (non-armored) signature', async () => {
    const { w, img } = await setup(keys.ed);
    gpg.gpg(['--local-user', keys.ed, '--output', `${img}.asc`, '--detach-sign', img]);
    expect(fs.readFileSync(`${img}.asc`).subarray(0, 5).toString('latin1')).not.toContain('-----');
    await expectRejected(w, ['fetch', img], /not an ASCII-armored OpenPGP signature/);
  });
});

describe('keys that are no longer good', () => {
  it('rejects a signature made while the key was valid when the key has expired since', async () => {
    const { w, img } = setupWentBad(keys.expired);
    gpg.gpg(['--faked-system-time', '20200101T010000!', '--armor', '--local-user', keys.expired, '--output', `${img}.asc`, '--detach-sign', img]);
    await expectRejected(w, ['fetch', img], new RegExp(`signing key ${lower(keys.expired)} expired on 2020-01-02`));
  });

  it('rejects a signature by a revoked key (signed before the revocation)', async () => {
    const { w, img } = setupWentBad(keys.revoked);
    fs.copyFileSync(before.revoked, `${img}.asc`);
    await expectRejected(w, ['fetch', img], /revoked/i);
  });

  it('rejects a signature by a revoked signing subkey of a valid primary key', async () => {
    const { w, img } = setupWentBad(keys.subRevoked);
    fs.copyFileSync(before.subRevoked, `${img}.asc`);
    await expectRejected(w, ['fetch', img], /Subkey is revoked|revoked subkey/i);
  });
});

describe('weak hashes', () => {
  it('rejects an RSA signature over SHA-1', async () => {
    const { w, img } = await setup(keys.rsa);
    gpg.sign(img, keys.rsa, { digest: 'SHA1' });
    expect(gpg.gpg(['--list-packets', `${img}.asc`])).toContain('digest algo 2,');
    await expectRejected(w, ['fetch', img], /Insecure message hash algorithm: SHA1/);
  });

  it('rejects an RSA signature over MD5', async () => {
    const { w, img } = await setup(keys.rsa);
    gpg.gpg(['--allow-weak-digest-algos', '--armor', '--local-user', keys.rsa, '--digest-algo', 'MD5', '--output', `${img}.asc`, '--detach-sign', img]);
    expect(gpg.gpg(['--list-packets', `${img}.asc`])).toContain('digest algo 1,');
    await expectRejected(w, ['fetch', img], /Insecure hash algorithm: MD5/);
  });

  it('rejects an Ed25519 signature over SHA-1', async () => {
    const { w, img } = await setup(keys.ed);
    gpg.sign(img, keys.ed, { digest: 'SHA1' });
    await expectRejected(w, ['fetch', img], /SHA1|too weak/);
  });

  it('accepts the same RSA key with SHA-256 (the hash was the only problem)', async () => {
    const { w, img } = await setup(keys.rsa);
    gpg.sign(img, keys.rsa, { digest: 'SHA256' });
    await expectAccepted(w, ['fetch', img], 'RSA Signer <rsa@example.com>');
  });
});
