/**
 * The streaming detached-signature check, in process, with keys made by openpgp.js and a
 * keystore in a temp dir. The CLI-level cases (GnuPG keys, exit codes) are in test/integration.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { errorChain, messageOf } from '../../../src/errors/capsule-error.js';
import { keystoreRoots, listTrustedKeys, type KeystoreRoots } from '../../../src/verify/keystore.js';
import { checkSignerTrustedFor, verifyingStream, type SignatureCheck } from '../../../src/verify/signature.js';

interface Key {
  priv: openpgp.PrivateKey;
  pub: string;
  fp: string;
}

async function makeKey(name: string, o: { date?: Date; keyExpirationTime?: number } = {}): Promise<Key> {
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name, email: `${name.toLowerCase()}@example.com` }], format: 'object', ...o });
  return { priv: privateKey, pub: publicKey.armor(), fp: publicKey.getFingerprint() };
}

async function sign(k: Key, bytes: Uint8Array, date?: Date): Promise<string> {
  const armored: string = await openpgp.sign({ message: await openpgp.createMessage({ binary: bytes }), signingKeys: k.priv, detached: true, ...(date ? { date } : {}) });
  return armored;
}

/** The bytes in a few chunks, recording whether anyone started reading them. */
function source(data: Uint8Array): { stream: AsyncIterable<Uint8Array>; pulled: () => boolean } {
  let pulled = false;
  const stream = (async function* () {
    pulled = true;
    for (let off = 0; off < data.length; off += 7000) {
      await new Promise(setImmediate); // arrive in separate turns, like a file or socket
      yield data.subarray(off, off + 7000);
    }
  })();
  return { stream, pulled: () => pulled };
}

async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** Everything an error says, outer to inner. */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return errorChain(e).map(messageOf).join(' | ');
  }
  throw new Error('expected a failure');
}

/** Streams `data` through the verifier and returns the check (or throws what result() throws). */
async function verify(data: Uint8Array, sig: string): Promise<SignatureCheck> {
  const v = await verifyingStream(source(data).stream, sig, listTrustedKeys(roots));
  expect(Buffer.compare(await readAll(v.data), Buffer.from(data))).toBe(0);
  return v.result();
}

let base: string;
let roots: KeystoreRoots;
let alice: Key;
let bob: Key;
const data = randomBytes(20_000);

function trust(k: Key, scope: string, fileName = k.fp, content = k.pub): void {
  const dir = scope === 'root' ? path.join(roots.local, 'root.d') : path.join(roots.local, 'prefix.d', ...scope.split('/'));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, fileName), content);
}

beforeAll(async () => {
  alice = await makeKey('Alice');
  bob = await makeKey('Bob');
});

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-sig-'));
  roots = keystoreRoots(path.join(base, 'usr-lib'), path.join(base, 'etc'));
});

afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

describe('verifyingStream', () => {
  it('passes the bytes through unchanged and reports the trusted signer', async () => {
    trust(alice, 'root');
    const check = await verify(data, await sign(alice, data));
    expect(check.signer.fingerprint).toBe(alice.fp);
    expect(check.signer.userIds).toEqual(['Alice <alice@example.com>']);
    expect(check.stored.map((s) => s.scope)).toEqual([{ kind: 'root' }]);
  });

  it('fails for an unknown signer before reading a byte of the image', async () => {
    trust(bob, 'root');
    const src = source(data);
    expect(await failure(verifyingStream(src.stream, await sign(alice, data), listTrustedKeys(roots)))).toMatch(/not trusted.*unknown entity/);
    expect(src.pulled()).toBe(false);
  });

  it('fails when the bytes differ from the signed ones, only after they were read', async () => {
    trust(alice, 'root');
    const tampered = Buffer.from(data);
    tampered.writeUInt8(tampered.readUInt8(12_345) ^ 1, 12_345);
    expect(await failure(verify(tampered, await sign(alice, data)))).toMatch(/signature does not verify.*did not match/);
  });

  it('verifies v6 (salted) signatures and other hash algorithms, and catches tampering with them', async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'Six' }], format: 'object', config: { v6Keys: true } });
    const six: Key = { priv: privateKey, pub: publicKey.armor(), fp: publicKey.getFingerprint() };
    trust(six, 'root');
    const sig6 = await sign(six, data);
    expect((await openpgp.readSignature({ armoredSignature: sig6 })).packets[0]!.version).toBe(6);
    expect((await verify(data, sig6)).signer.fingerprint).toBe(six.fp);
    const tampered = Buffer.from(data);
    tampered.writeUInt8(tampered.readUInt8(7) ^ 0x80, 7);
    expect(await failure(verify(tampered, sig6))).toMatch(/signature does not verify/);

    trust(alice, 'root');
    for (const h of [openpgp.enums.hash.sha256, openpgp.enums.hash.sha512]) {
      const sig = await openpgp.sign({ message: await openpgp.createMessage({ binary: data }), signingKeys: alice.priv, detached: true, config: { preferredHashAlgorithm: h } });
      expect((await openpgp.readSignature({ armoredSignature: sig })).packets[0]!.hashAlgorithm).toBe(h);
      expect((await verify(data, sig)).signer.fingerprint).toBe(alice.fp);
      expect(await failure(verify(tampered, sig))).toMatch(/signature does not verify/);
    }
  });

  it('refuses a text-mode signature before reading a byte of the image', async () => {
    trust(alice, 'root');
    const text = await openpgp.sign({ message: await openpgp.createMessage({ text: data.toString('hex') }), signingKeys: alice.priv, detached: true });
    const src = source(data);
    expect(await failure(verifyingStream(src.stream, text, listTrustedKeys(roots)))).toMatch(/text-mode signature \(gpg --textmode\), not a binary document signature/);
    expect(src.pulled()).toBe(false);
  });

  it('gives no verdict before the bytes were read to their end', async () => {
    trust(alice, 'root');
    const v = await verifyingStream(source(data).stream, await sign(alice, data), listTrustedKeys(roots));
    await expect(v.result()).rejects.toThrow(/before the data was read to its end/);
  });

  it('refuses a non-armored signature and a garbled one', async () => {
    trust(alice, 'root');
    const binary = await openpgp.sign({ message: await openpgp.createMessage({ binary: data }), signingKeys: alice.priv, detached: true, format: 'binary' });
    expect(await failure(verifyingStream(source(data).stream, Buffer.from(binary).toString('latin1'), listTrustedKeys(roots)))).toMatch(/not an ASCII-armored/);
    const armored = await sign(alice, data);
    const garbled = armored.replace(/\n\n[^]*?\n=/, '\n\nQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n=');
    expect(await failure(verifyingStream(source(data).stream, garbled, listTrustedKeys(roots)))).toMatch(/truncated or garbled/);
  });

  it('refuses a key expired since it made the signature', async () => {
    const past = new Date(Date.UTC(2020, 0, 1));
    const old = await makeKey('Old', { date: past, keyExpirationTime: 24 * 3600 });
    trust(old, 'root');
    expect(await failure(verify(data, await sign(old, data, new Date(past.getTime() + 60_000))))).toMatch(new RegExp(`signing key ${old.fp} expired on 2020-01-02T00:00:00.000Z`));
  });

  it('refuses a key revoked after it made the signature', async () => {
    const carol = await makeKey('Carol');
    const sig = await sign(carol, data);
    const { publicKey } = await openpgp.revokeKey({ key: carol.priv, format: 'armored' });
    trust({ ...carol, pub: publicKey }, 'root');
    expect(await failure(verify(data, sig))).toMatch(/revoked/i);
  });

  it('names a trusted key file that holds another key than its name says (fingerprint mismatch)', async () => {
    trust(alice, 'root', bob.fp);
    expect(await failure(verifyingStream(source(data).stream, await sign(alice, data), listTrustedKeys(roots)))).toMatch(
      new RegExp(`holds key ${alice.fp}, not the key its name says \\(fingerprint mismatch\\)`),
    );
  });

  it('a misnamed or unreadable file of another key does not stop the real signer', async () => {
    trust(bob, 'root', 'c'.repeat(40));
    trust(bob, 'root', 'd'.repeat(40), 'garbage');
    trust(alice, 'root');
    expect((await verify(data, await sign(alice, data))).signer.fingerprint).toBe(alice.fp);
  });

  it('collects every scope the signer is trusted for', async () => {
    trust(alice, 'example.com/a');
    trust(alice, 'example.com/b');
    const check = await verify(data, await sign(alice, data));
    expect(check.stored.map((s) => s.scope).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual([
      { kind: 'prefix', prefix: 'example.com/a' },
      { kind: 'prefix', prefix: 'example.com/b' },
    ]);
  });
});

describe('checkSignerTrustedFor', () => {
  it('binds a prefix key to the names under its prefix, by whole segments', async () => {
    trust(alice, 'example.com/app');
    const check = await verify(data, await sign(alice, data));
    expect(checkSignerTrustedFor(check, 'example.com/app/x')).toEqual({ fingerprint: alice.fp, userIds: ['Alice <alice@example.com>'], trustedFor: 'example.com/app' });
    expect(checkSignerTrustedFor(check, 'example.com/app').trustedFor).toBe('example.com/app');
    expect(() => checkSignerTrustedFor(check, 'example.com/application')).toThrow(/trusted only for "example.com\/app", not for "example.com\/application"/);
    expect(() => checkSignerTrustedFor(check, 'example.com')).toThrow(/not for "example.com"/);
  });

  it('a root key covers every name', async () => {
    trust(alice, 'root');
    const check = await verify(data, await sign(alice, data));
    expect(checkSignerTrustedFor(check, 'anything.example/at/all').trustedFor).toBe('root');
  });

  it('uses whichever of the signer scopes covers the name', async () => {
    trust(alice, 'example.com/a');
    trust(alice, 'example.com/b');
    const check = await verify(data, await sign(alice, data));
    expect(checkSignerTrustedFor(check, 'example.com/b/img').trustedFor).toBe('example.com/b');
    expect(() => checkSignerTrustedFor(check, 'example.com/c/img')).toThrow(/trusted only for "example.com\/a, example.com\/b"|trusted only for "example.com\/b, example.com\/a"/);
  });
});
