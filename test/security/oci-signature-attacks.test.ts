/**
 * Hostile simple-signing signatures. Each is made with the trusted GnuPG key (so the
 * cryptography alone would accept it) and placed where the lookaside store is looked up for
 * the image that is asked for; each must be refused, with its reason on the one error line:
 * valid signatures for another tag, another repository, another manifest (mix-and-match); claims
 * with unknown critical fields or duplicate keys; blobs that are not OpenPGP signed messages.
 * The victim: a correctly signed image beside them keeps verifying (nothing is refused wholesale).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInsecureOptions, type GlobalOptions } from '../../src/config/global-options.js';
import { openRegistrySource } from '../../src/oci/registry/registry-source.js';
import { parseOciReference } from '../../src/oci/reference.js';
import { verifyOciSignatures } from '../../src/oci/signing/verify-oci-signatures.js';
import type { Sha256Digest } from '../../src/oci/types.js';
import { makeWorld, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { OciLayoutWriter, sha256 } from '../helpers/oci-layout.js';
import { claim, gpgSignPayload, putLookaside, rawManifest, standaloneSign, writeRegistriesD } from '../helpers/oci-signing.js';
import { skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { testCa, type TestCa } from '../helpers/test-ca.js';

let ca: TestCa;
let gpg: GpgHome;
let fpr: string;
let tmp: string;
let store: string;
let reg: TestRegistry;
let w: World;
const m: Record<string, Buffer> = {};
const d: Record<string, Sha256Digest> = {};

function globals(): GlobalOptions {
  return { dir: w.dir, localConfig: w.localConfig, systemConfig: w.systemConfig, userConfig: undefined, insecure: parseInsecureOptions(undefined), debug: false, trustKeysFromHttps: false };
}

async function verify(ref: string) {
  const r = parseOciReference(ref);
  const src = await openRegistrySource(r, { g: globals() });
  try {
    const got = await src.getManifest(undefined, 1 << 20);
    return await verifyOciSignatures({ g: globals() }, r, sha256(got.bytes) as Sha256Digest, got.bytes, src);
  } finally {
    await src.close();
  }
}

/** Puts `sigs` as the only signatures of team/app:v1 and expects the verification to fail with `why`. */
async function expectRefused(sigs: Buffer[], why: string | RegExp): Promise<void> {
  putLookaside(store, 'team/app', d.v1!, sigs);
  const e = await verify(`${reg.host}/team/app:v1`).then(
    () => undefined,
    (x: unknown) => x as Error,
  );
  expect(e, 'the hostile signature was accepted').toBeDefined();
  expect(e!.message.split('\n')).toHaveLength(1);
  expect(e!.message).toMatch(/^no valid signature for manifest sha256:[0-9a-f]{64}: signature 1: /);
  if (typeof why === 'string') expect(e!.message).toContain(why);
  else expect(e!.message).toMatch(why);
}

beforeAll(async () => {
  ca = testCa();
  gpg = makeGpgHome();
  fpr = gpg.genKey('Capsule OCI Signer <oci-signer@example.com>');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-or-sigatk-'));
  store = path.join(tmp, 'sigs');
  const layout = new OciLayoutWriter(path.join(tmp, 'layout'));
  layout.tag('v1', layout.image({ layers: [{ entries: [{ path: 'version', body: 'one\n' }] }] }).manifest);
  layout.tag('v2', layout.image({ layers: [{ entries: [{ path: 'version', body: 'two (vulnerable)\n' }] }] }).manifest);
  reg = await startRegistry({ tls: ca });
  await skopeoPush(`oci:${layout.dir}:v1`, `${reg.host}/team/app:v1`);
  await skopeoPush(`oci:${layout.dir}:v2`, `${reg.host}/team/app:v2`);
  await skopeoPush(`oci:${layout.dir}:v1`, `${reg.host}/team/victim:v1`);
  for (const t of ['v1', 'v2']) {
    m[t] = await rawManifest(`${reg.host}/team/app:${t}`);
    d[t] = sha256(m[t]) as Sha256Digest;
  }
  w = makeWorld('capsule-or-sigatk-');
  fs.mkdirSync(path.join(w.localConfig, 'tls.d'), { recursive: true });
  fs.copyFileSync(ca.ca.certFile, path.join(w.localConfig, 'tls.d', 'ca.pem'));
  const r = await w.run(['trust', '--skip-fingerprint-review', '--prefix', `${reg.host}/team`, gpg.exportPublic(fpr, path.join(tmp, 'key.asc'))]);
  expect(r.code, r.stderr).toBe(0);
  writeRegistriesD(w.localConfig, reg.host, pathToFileURL(store).toString());
  putLookaside(store, 'team/victim', d.v1!, [await standaloneSign(gpg, m.v1!, `${reg.host}/team/victim:v1`, fpr, tmp)]);
});

afterAll(async () => {
  await reg.stop();
  w.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
  gpg.cleanup();
  ca.cleanup();
});

describe('mix-and-match: a valid signature for something else', () => {
  it('signature of another tag (v2 signed, v2 served as v1) is refused', async () => {
    // The attacker can make the registry serve a signed but vulnerable v2 under the name v1.
    await expectRefused([await standaloneSign(gpg, m.v1!, `${reg.host}/team/app:v2`, fpr, tmp)], `it is a signature for ${reg.host}/team/app:v2, not for ${reg.host}/team/app:v1`);
  });

  it('signature of another repository is refused', async () => {
    await expectRefused([await standaloneSign(gpg, m.v1!, `${reg.host}/team/other:v1`, fpr, tmp)], `it is a signature for ${reg.host}/team/other:v1, not for ${reg.host}/team/app:v1`);
  });

  it('signature of another registry is refused', async () => {
    await expectRefused([await standaloneSign(gpg, m.v1!, `registry.example.com/team/app:v1`, fpr, tmp)], 'it is a signature for registry.example.com/team/app:v1');
  });

  it('signature of another manifest digest is refused', async () => {
    await expectRefused([await standaloneSign(gpg, m.v2!, `${reg.host}/team/app:v1`, fpr, tmp)], `it signs manifest ${d.v2}, not ${d.v1}`);
  });
});

describe('claims a strict reader must refuse', () => {
  it('unknown critical field is refused', async () => {
    await expectRefused([gpgSignPayload(gpg, claim(`${reg.host}/team/app:v1`, d.v1!, { 'allow-any-tag': true }), fpr)], 'the signed claim has an unknown field "allow-any-tag" in critical');
  });

  it('unknown field inside critical.identity is refused', async () => {
    await expectRefused([gpgSignPayload(gpg, claim(`${reg.host}/team/app:v1`, d.v1!, { identity: { 'docker-reference': `${reg.host}/team/app:v1`, 'also-valid-for': 'v2' } }), fpr)], /unknown field "also-valid-for" in critical\.identity/);
  });

  it('duplicate keys (two docker-reference values for two parsers) are refused', async () => {
    const dup = `{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"${d.v1}"},"identity":{"docker-reference":"${reg.host}/team/app:v1","docker-reference":"${reg.host}/team/app:v2"}}}`;
    await expectRefused([gpgSignPayload(gpg, dup, fpr)], 'duplicate key "docker-reference"');
  });

  it('wrong critical.type is refused', async () => {
    await expectRefused([gpgSignPayload(gpg, claim(`${reg.host}/team/app:v1`, d.v1!, { type: 'cosign container image signature' }), fpr)], /critical\.type "cosign container image signature"/);
  });

  it('claim that is not JSON is refused', async () => {
    await expectRefused([gpgSignPayload(gpg, 'critical: yes', fpr)], 'the signed claim is not valid JSON');
  });
});

describe('blobs that are not OpenPGP signed messages', () => {
  it('detached signature is refused', async () => {
    await expectRefused([gpgSignPayload(gpg, claim(`${reg.host}/team/app:v1`, d.v1!), fpr, '--detach-sign')], /signature is an OpenPGP message without a signature|not an OpenPGP signed message/);
  });

  it('cleartext-signed text is refused', async () => {
    await expectRefused([gpgSignPayload(gpg, claim(`${reg.host}/team/app:v1`, d.v1!), fpr, '--clear-sign')], 'cleartext-signed text');
  });

  it('literal data without any signature (gpg --store) is refused', async () => {
    await expectRefused([gpgSignPayload(gpg, claim(`${reg.host}/team/app:v1`, d.v1!), fpr, '--store')], 'without a signature');
  });

  it('symmetrically encrypted message is refused', async () => {
    const { execFileSync } = await import('node:child_process');
    const enc = execFileSync('gpg', ['--homedir', gpg.home, '--batch', '--yes', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', 'x', '--symmetric', '--output', '-'], { input: claim(`${reg.host}/team/app:v1`, d.v1!) });
    await expectRefused([enc], /encrypted or other packets/);
  });

  it('tampered signed message is refused', async () => {
    const good = await standaloneSign(gpg, m.v1!, `${reg.host}/team/app:v1`, fpr, tmp);
    const bad = Buffer.from(good);
    bad.writeUInt8(bad.readUInt8(bad.length - 10) ^ 0xff, bad.length - 10);
    await expectRefused([bad], /signature/);
  });

  it('random bytes are refused', async () => {
    await expectRefused([Buffer.from('not an openpgp message at all')], 'signature 1: signature is not an OpenPGP message');
  });
});

describe('the victim', () => {
  it('a correctly signed image still verifies beside the hostile ones', async () => {
    expect((await verify(`${reg.host}/team/victim:v1`)).fingerprint).toBe(fpr.toLowerCase());
  });

  it('a hostile signature next to a valid one does not hide it, and the valid one is what counts', async () => {
    putLookaside(store, 'team/app', d.v1!, [await standaloneSign(gpg, m.v1!, `${reg.host}/team/app:v2`, fpr, tmp), await standaloneSign(gpg, m.v1!, `${reg.host}/team/app:v1`, fpr, tmp)]);
    expect((await verify(`${reg.host}/team/app:v1`)).reference).toBe(`${reg.host}/team/app:v1`);
  });
});
