/**
 * Simple signing for OCI images: signatures made by `skopeo standalone-sign` and by
 * `skopeo copy --sign-by` (with a registries.d lookaside) with GnuPG keys, found through
 * `<config>/registries.d/*.yaml`, checked against keys trusted with `capsule trust --prefix`.
 * Unsigned images, untrusted keys and keys trusted for another prefix are refused.
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
import { busyboxEntries, OciLayoutWriter, sha256 } from '../helpers/oci-layout.js';
import { putLookaside, rawManifest, standaloneSign, writeRegistriesD } from '../helpers/oci-signing.js';
import { skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { testCa, type TestCa } from '../helpers/test-ca.js';

let ca: TestCa;
let gpg: GpgHome;
let fpr: string;
let other: string;
let tmp: string;
let reg: TestRegistry;
let manifest: Buffer;
let digest: Sha256Digest;
const worlds: World[] = [];

function globals(w: World): GlobalOptions {
  return { dir: w.dir, localConfig: w.localConfig, systemConfig: w.systemConfig, userConfig: undefined, insecure: parseInsecureOptions(undefined), debug: false, trustKeysFromHttps: false };
}

/** A world trusting the test CA, with `keyFpr` trusted (through the real CLI) for `prefix`. */
async function world(prefix: string | undefined, keyFpr = fpr): Promise<World> {
  const w = makeWorld('capsule-or-sign-');
  worlds.push(w);
  fs.mkdirSync(path.join(w.localConfig, 'tls.d'), { recursive: true });
  fs.copyFileSync(ca.ca.certFile, path.join(w.localConfig, 'tls.d', 'ca.pem'));
  if (prefix !== undefined) {
    const key = gpg.exportPublic(keyFpr, path.join(w.base, 'key.asc'));
    const r = await w.run(['trust', '--skip-fingerprint-review', '--prefix', prefix, key]);
    expect(r.code, r.stderr).toBe(0);
  }
  return w;
}

async function verify(w: World, ref: string) {
  const r = parseOciReference(ref);
  const src = await openRegistrySource(r, { g: globals(w) });
  try {
    const m = await src.getManifest(undefined, 1 << 20);
    return await verifyOciSignatures({ g: globals(w) }, r, sha256(m.bytes) as Sha256Digest, m.bytes, src);
  } finally {
    await src.close();
  }
}

beforeAll(async () => {
  ca = testCa();
  gpg = makeGpgHome();
  fpr = gpg.genKey('Capsule OCI Signer <oci-signer@example.com>');
  other = gpg.genKey('Someone Else <else@example.com>');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-or-sign-'));
  const layout = new OciLayoutWriter(path.join(tmp, 'layout'));
  layout.tag('v1', layout.image({ layers: [{ entries: busyboxEntries() }] }).manifest);
  reg = await startRegistry({ tls: ca });
  await skopeoPush(`oci:${layout.dir}:v1`, `${reg.host}/team/app:v1`);
  manifest = await rawManifest(`${reg.host}/team/app:v1`);
  digest = sha256(manifest) as Sha256Digest;
});

afterAll(async () => {
  await reg.stop();
  for (const w of worlds) w.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
  gpg.cleanup();
  ca.cleanup();
});

describe('signed with skopeo standalone-sign', () => {
  let store: string;
  beforeAll(async () => {
    store = path.join(tmp, 'standalone-sigs');
    putLookaside(store, 'team/app', digest, [await standaloneSign(gpg, manifest, `${reg.host}/team/app:v1`, fpr, tmp)]);
  });

  it('verifies with a key trusted for the registry/repository prefix', async () => {
    const w = await world(`${reg.host}/team`);
    writeRegistriesD(w.localConfig, reg.host, pathToFileURL(store).toString());
    const v = await verify(w, `${reg.host}/team/app:v1`);
    expect(v.fingerprint).toBe(fpr.toLowerCase());
    expect(v.userIds).toEqual(['Capsule OCI Signer <oci-signer@example.com>']);
    expect(v.trustedFor).toBe(`${reg.host}/team`);
    expect(v.manifestDigest).toBe(digest);
  });

  it('uses the most specific registries.d scope, then default-docker', async () => {
    const w = await world(`${reg.host}/team/app`);
    fs.mkdirSync(path.join(w.localConfig, 'registries.d'), { recursive: true });
    fs.writeFileSync(path.join(w.localConfig, 'registries.d', 'a.yaml'), `default-docker:\n  lookaside: file:///nonexistent\ndocker:\n  ${reg.host}:\n    sigstore: file:///nonexistent\n  ${reg.host}/team/app:\n    lookaside: ${pathToFileURL(store).toString()}\n`);
    expect((await verify(w, `${reg.host}/team/app:v1`)).fingerprint).toBe(fpr.toLowerCase());
  });

  it('refuses it when the key is trusted only for another prefix', async () => {
    const w = await world(`${reg.host}/other`);
    writeRegistriesD(w.localConfig, reg.host, pathToFileURL(store).toString());
    await expect(verify(w, `${reg.host}/team/app:v1`)).rejects.toThrow(`which is trusted only for "${reg.host}/other", not for "${reg.host}/team/app"`);
  });

  it('a prefix matches whole segments only', async () => {
    const w = await world(`${reg.host}/tea`);
    writeRegistriesD(w.localConfig, reg.host, pathToFileURL(store).toString());
    await expect(verify(w, `${reg.host}/team/app:v1`)).rejects.toThrow(/trusted only for/);
  });

  it('refuses it when the signing key is not trusted at all', async () => {
    const w = await world(`${reg.host}/team`, other);
    writeRegistriesD(w.localConfig, reg.host, pathToFileURL(store).toString());
    await expect(verify(w, `${reg.host}/team/app:v1`)).rejects.toThrow(/signature 1: signature made by a key that is not trusted/);
  });
});

describe('signed by skopeo copy --sign-by into a lookaside store', () => {
  it('verifies what skopeo wrote where registries.d says', async () => {
    const store = path.join(tmp, 'copy-sigs');
    const regD = path.join(tmp, 'skopeo-registries.d');
    fs.mkdirSync(regD, { recursive: true });
    fs.writeFileSync(path.join(regD, 'r.yaml'), `docker:\n  ${reg.host}:\n    lookaside: ${pathToFileURL(store).toString()}\n`);
    const layout = new OciLayoutWriter(path.join(tmp, 'layout2'));
    layout.tag('v2', layout.image({ layers: [{ entries: [{ path: 'signed-by-copy', body: 'yes\n' }] }] }).manifest);
    await skopeoPush(`oci:${layout.dir}:v2`, `${reg.host}/team/signed:v2`, { signBy: { fingerprint: fpr, gnupgHome: gpg.home, registriesD: regD } });
    const w = await world(`${reg.host}/team`);
    // The same registries.d file serves skopeo and Capsule.
    fs.mkdirSync(path.join(w.localConfig, 'registries.d'));
    fs.copyFileSync(path.join(regD, 'r.yaml'), path.join(w.localConfig, 'registries.d', 'r.yaml'));
    const v = await verify(w, `${reg.host}/team/signed:v2`);
    expect(v.reference).toBe(`${reg.host}/team/signed:v2`);
  });
});

describe('unsigned images', () => {
  it('are refused with the reason and the way out', async () => {
    const w = await world(`${reg.host}/team`);
    await expect(verify(w, `${reg.host}/team/app:v1`)).rejects.toMatchObject({
      message: `the image is not signed: no lookaside store is configured for ${reg.host}/team/app in registries.d, and the source serves no signatures`,
      hint: 'see docs/signing-oci.md, or pass --insecure-options=image to use unsigned images',
    });
    writeRegistriesD(w.localConfig, reg.host, pathToFileURL(path.join(tmp, 'empty-store')).toString());
    await expect(verify(w, `${reg.host}/team/app:v1`)).rejects.toThrow(/is not signed: no signature in the lookaside store file:/);
  });
});
