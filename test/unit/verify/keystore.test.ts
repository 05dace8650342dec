import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseFingerprint, type Fingerprint } from '../../../src/spec/fingerprint.js';
import { keyFilePath, keysForName, keystoreRoots, listTrustedKeys, type KeystoreRoots, type StoredKey } from '../../../src/verify/keystore.js';
import type { TrustScope } from '../../../src/verify/trust-prefix.js';

const fp = (c: string): Fingerprint => parseFingerprint(c.repeat(40));
const A = fp('a');
const B = fp('b');
const C = fp('c');
const D = fp('d');

let base: string;
let roots: KeystoreRoots;

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-keystore-'));
  roots = keystoreRoots(path.join(base, 'usr-lib'), path.join(base, 'etc'));
});

afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

function put(root: string, rel: string, content = 'key'): string {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

const summary = (keys: StoredKey[]): string[] => keys.map((k) => `${k.origin} ${k.scope.kind === 'root' ? 'root' : k.scope.prefix} ${k.fingerprint.slice(0, 1)}`).sort();

describe('keystoreRoots and keyFilePath', () => {
  it('puts keys under <config>/trustedkeys/{root.d,prefix.d/<prefix path>}/<fingerprint>', () => {
    expect(roots).toEqual({ system: path.join(base, 'usr-lib', 'trustedkeys'), local: path.join(base, 'etc', 'trustedkeys') });
    expect(keyFilePath('/k', { kind: 'root' }, A)).toBe(`/k/root.d/${A}`);
    expect(keyFilePath('/k', { kind: 'prefix', prefix: 'example.com/capsule' }, A)).toBe(`/k/prefix.d/example.com/capsule/${A}`);
  });
});

describe('listTrustedKeys', () => {
  it('finds root and prefix keys in both config dirs, with their origin', () => {
    put(roots.system, `root.d/${A}`);
    put(roots.system, `prefix.d/example.com/capsule/${B}`);
    put(roots.local, `prefix.d/example.com/${C}`);
    put(roots.local, `root.d/${D}`);
    expect(summary(listTrustedKeys(roots))).toEqual(['local example.com c', 'local root d', 'system example.com/capsule b', 'system root a']);
    const b = listTrustedKeys(roots).find((k) => k.fingerprint === B)!;
    expect(b.file).toBe(path.join(roots.system, 'prefix.d', 'example.com', 'capsule', B));
  });

  it('an empty local file masks the system key with the same scope and name, and only that one', () => {
    put(roots.system, `prefix.d/example.com/capsule/${A}`);
    put(roots.system, `root.d/${A}`);
    put(roots.system, `prefix.d/example.com/capsule/${B}`);
    put(roots.local, `prefix.d/example.com/capsule/${A}`, '');
    expect(summary(listTrustedKeys(roots))).toEqual(['system example.com/capsule b', 'system root a']);
  });

  it('an empty local file masks nothing else and is itself not a key', () => {
    put(roots.local, `root.d/${A}`, '');
    put(roots.system, `prefix.d/example.com/${A}`);
    expect(summary(listTrustedKeys(roots))).toEqual(['system example.com a']);
  });

  it('a local key and the system key of the same name are both listed', () => {
    put(roots.system, `root.d/${A}`);
    put(roots.local, `root.d/${A}`);
    expect(summary(listTrustedKeys(roots))).toEqual(['local root a', 'system root a']);
  });

  it('skips empty system files, names that are not fingerprints, files directly in prefix.d and dirs in root.d', () => {
    put(roots.system, `root.d/${A}`, '');
    put(roots.local, 'root.d/my-key.asc');
    put(roots.local, `root.d/${'a'.repeat(39)}`);
    put(roots.local, `prefix.d/${B}`);
    put(roots.local, `root.d/sub/${C}`);
    put(roots.local, `prefix.d/example.com/${D}`);
    expect(summary(listTrustedKeys(roots))).toEqual(['local example.com d']);
  });

  it('accepts v6 (64 hex) fingerprints and returns nothing for missing config dirs', () => {
    expect(listTrustedKeys(roots)).toEqual([]);
    const v6 = 'e'.repeat(64);
    put(roots.local, `root.d/${v6}`);
    expect(listTrustedKeys(roots).map((k) => k.fingerprint)).toEqual([v6]);
  });
});

describe('keysForName', () => {
  const key = (scope: TrustScope, f: Fingerprint): StoredKey => ({ scope, fingerprint: f, origin: 'local', file: `/x/${f}` });
  const keys = [
    key({ kind: 'root' }, A),
    key({ kind: 'prefix', prefix: 'example.com/capsule' }, B),
    key({ kind: 'prefix', prefix: 'example.com/capsule/busy' }, C),
    key({ kind: 'prefix', prefix: 'example.com' }, D),
    key({ kind: 'prefix', prefix: 'example.com/other' }, A),
  ];

  it('picks root keys and every prefix that covers the name by whole segments', () => {
    expect(keysForName(keys, 'example.com/capsule/busybox').map((k) => k.fingerprint)).toEqual([A, B, D]);
    expect(keysForName(keys, 'example.com/capsule/busy').map((k) => k.fingerprint)).toEqual([A, B, C, D]);
    expect(keysForName(keys, 'example.org/capsule').map((k) => k.fingerprint)).toEqual([A]);
    expect(keysForName(keys, 'example.com/other/x').map((k) => k.scope)).toEqual([{ kind: 'root' }, { kind: 'prefix', prefix: 'example.com' }, { kind: 'prefix', prefix: 'example.com/other' }]);
  });

  it('without root keys, an unrelated name gets nothing', () => {
    expect(keysForName(keys.slice(1), 'example.org/capsule')).toEqual([]);
  });
});
