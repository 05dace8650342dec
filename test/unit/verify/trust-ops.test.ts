import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { displayFingerprint, parseFingerprint } from '../../../src/spec/fingerprint.js';
import { keystoreRoots, type KeystoreRoots } from '../../../src/verify/keystore.js';
import { parsePublicKeys, type ParsedKey } from '../../../src/verify/public-key.js';
import { listTrust, removeTrust, reviewText, storeTrustedKey } from '../../../src/verify/trust-ops.js';

describe('displayFingerprint (rkt layout)', () => {
  it('shows a v4 fingerprint as 5 groups, two spaces, 5 groups, upper case', () => {
    expect(displayFingerprint(parseFingerprint('835b8b39eaa069845e4cf05183a878d22c36e47c'))).toBe('835B 8B39 EAA0 6984 5E4C  F051 83A8 78D2 2C36 E47C');
  });

  it('splits a v6 fingerprint in the middle too', () => {
    const f = parseFingerprint('0123456789abcdef'.repeat(4));
    expect(displayFingerprint(f)).toBe('0123 4567 89AB CDEF 0123 4567 89AB CDEF  0123 4567 89AB CDEF 0123 4567 89AB CDEF');
  });

  it('parseFingerprint reads back what was displayed', () => {
    const f = parseFingerprint('835b8b39eaa069845e4cf05183a878d22c36e47c');
    expect(parseFingerprint(displayFingerprint(f))).toBe(f);
  });
});

let key: ParsedKey;
let secretArmored: string;

beforeAll(async () => {
  const k = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'Unit Key', email: 'unit@example.com' }, { name: 'Second Id', email: 'second@example.com' }], format: 'armored' });
  secretArmored = k.privateKey;
  [key] = (await parsePublicKeys(Buffer.from(k.publicKey), 'test key')) as [ParsedKey];
});

describe('reviewText', () => {
  it('prints the fingerprint line, subkey fingerprints and identities, tab-indented', () => {
    expect(reviewText(key)).toBe(
      [
        `gpg key fingerprint is: ${displayFingerprint(key.fingerprint)}`,
        ...key.subkeyFingerprints.map((s) => `\tSubkey fingerprint: ${displayFingerprint(s)}`),
        '\tUnit Key <unit@example.com>',
        '\tSecond Id <second@example.com>',
      ].join('\n') + '\n',
    );
    expect(key.subkeyFingerprints).toHaveLength(1);
  });
});

describe('parsePublicKeys', () => {
  it('refuses a private key', async () => {
    await expect(parsePublicKeys(Buffer.from(secretArmored), 'secret.asc')).rejects.toThrow(/secret\.asc holds a private key/);
  });

  it('refuses garbage and empty input', async () => {
    await expect(parsePublicKeys(Buffer.from('hello'), 'junk')).rejects.toThrow(/reading OpenPGP key from junk/);
    await expect(parsePublicKeys(new Uint8Array(), 'empty')).rejects.toThrow(/empty/);
  });
});

describe('storeTrustedKey / listTrust / removeTrust', () => {
  let base: string;
  let roots: KeystoreRoots;
  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-trust-ops-'));
    roots = keystoreRoots(path.join(base, 'usr-lib'), path.join(base, 'etc'));
  });
  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  it('stores, lists and removes a local prefix key', async () => {
    const file = await storeTrustedKey(roots, { kind: 'prefix', prefix: 'example.com/capsule' }, key);
    expect(file).toBe(path.join(roots.local, 'prefix.d', 'example.com', 'capsule', key.fingerprint));
    expect(fs.readFileSync(file, 'utf8')).toBe(key.armored);
    expect(await listTrust(roots)).toEqual([{ prefix: 'example.com/capsule', fingerprint: key.fingerprint, userIds: key.userIds, origin: 'local', path: file }]);

    await expect(removeTrust(roots, { kind: 'root' }, key.fingerprint)).rejects.toThrow(/no key .* is trusted for all images \(root\)/);
    expect(await removeTrust(roots, { kind: 'prefix', prefix: 'example.com/capsule' }, key.fingerprint)).toEqual({ action: 'removed', path: file });
    expect(fs.existsSync(file)).toBe(false);
    expect(await listTrust(roots)).toEqual([]);
  });

  it('masks a system key, and trusting it locally again replaces the mask', async () => {
    const sys = path.join(roots.system, 'root.d', key.fingerprint);
    fs.mkdirSync(path.dirname(sys), { recursive: true });
    fs.writeFileSync(sys, key.armored);
    const r = await removeTrust(roots, { kind: 'root' }, key.fingerprint);
    expect(r).toEqual({ action: 'masked', path: path.join(roots.local, 'root.d', key.fingerprint) });
    expect(fs.statSync(r.path).size).toBe(0);
    expect(fs.readFileSync(sys, 'utf8')).toBe(key.armored);
    expect(await listTrust(roots)).toEqual([]);
    await expect(removeTrust(roots, { kind: 'root' }, key.fingerprint)).rejects.toThrow(/no key/);

    await storeTrustedKey(roots, { kind: 'root' }, key);
    expect((await listTrust(roots)).map((e) => e.origin).sort()).toEqual(['local', 'system']);
  });

  it('removing a key trusted both locally and by the system removes the local file and masks the system one', async () => {
    const sys = path.join(roots.system, 'root.d', key.fingerprint);
    fs.mkdirSync(path.dirname(sys), { recursive: true });
    fs.writeFileSync(sys, key.armored);
    const local = await storeTrustedKey(roots, { kind: 'root' }, key);
    expect(await removeTrust(roots, { kind: 'root' }, key.fingerprint)).toEqual({ action: 'masked', path: local });
    expect(fs.statSync(local).size).toBe(0);
    expect(await listTrust(roots)).toEqual([]);
  });

  it('lists an unreadable key file instead of failing', async () => {
    const bad = path.join(roots.local, 'root.d', 'f'.repeat(40));
    fs.mkdirSync(path.dirname(bad), { recursive: true });
    fs.writeFileSync(bad, 'not a key');
    expect(await listTrust(roots)).toEqual([{ prefix: 'root', fingerprint: 'f'.repeat(40), userIds: ['(unreadable key file)'], origin: 'local', path: bad }]);
  });
});
