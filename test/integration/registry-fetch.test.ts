/**
 * `capsule fetch docker://…` and `capsule run docker://…` against Debian's docker-registry
 * (behind a logging HTTPS proxy, to see what was requested): unsigned with
 * --insecure-options=image, signed with skopeo standalone-sign and a registries.d lookaside,
 * refused when unsigned; pull policies; a layer already in the store is not downloaded again
 * (shared base layers); a blob cut mid-transfer resumes with Range.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { busyboxEntries, OciLayoutWriter, type BuiltBlob, type BuiltImage } from '../helpers/oci-layout.js';
import { putLookaside, rawManifest, standaloneSign, writeRegistriesD } from '../helpers/oci-signing.js';
import { blobPath, startRegistryProxy, type RegistryProxy } from '../helpers/registry-proxy.js';
import { skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { testCa, type TestCa } from '../helpers/test-ca.js';

let ca: TestCa;
let gpg: GpgHome;
let fpr: string;
let tmp: string;
let reg: TestRegistry;
let proxy: RegistryProxy;
let app: BuiltImage;
let sibling: BuiltImage;
let base: BuiltBlob;
const worlds: World[] = [];

function world(): World {
  const w = makeWorld('capsule-or-fetch-');
  worlds.push(w);
  fs.mkdirSync(path.join(w.localConfig, 'tls.d'), { recursive: true });
  fs.copyFileSync(ca.ca.certFile, path.join(w.localConfig, 'tls.d', 'ca.pem'));
  return w;
}

const blobGets = (digest: string): number => proxy.log.filter((e) => e.method === 'GET' && e.path.endsWith(`/blobs/${digest}`)).length;

beforeAll(async () => {
  ca = testCa();
  gpg = makeGpgHome();
  fpr = gpg.genKey('Capsule Registry Signer <registry-signer@example.com>');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-or-fetch-'));
  const layout = new OciLayoutWriter(path.join(tmp, 'layout'));
  base = layout.layer({ entries: busyboxEntries() });
  // Big enough that a cut after 64 KiB is mid-blob (random bytes do not compress).
  const big = layout.layer({ entries: [{ path: 'data/', type: 'Directory' }, { path: 'data/random', body: crypto.randomBytes(256 * 1024) }] });
  app = layout.image({ layers: [], config: { Cmd: ['/bin/echo', 'hello from the registry'] } }, [base, big]);
  layout.tag('v1', app.manifest);
  const third = layout.layer({ entries: [{ path: 'sibling', body: 'only in the sibling\n' }] });
  sibling = layout.image({ layers: [], config: { Cmd: ['/bin/cat', '/sibling'] } }, [base, big, third]);
  layout.tag('sibling', sibling.manifest);
  reg = await startRegistry({ tls: ca });
  await skopeoPush(`oci:${layout.dir}:v1`, `${reg.host}/team/app:v1`);
  await skopeoPush(`oci:${layout.dir}:sibling`, `${reg.host}/team/app:sibling`);
  proxy = await startRegistryProxy(ca, reg);
});

afterAll(async () => {
  await proxy.close();
  await reg.stop();
  for (const w of worlds) w.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
  gpg.cleanup();
  ca.cleanup();
});

describe('capsule fetch docker://', () => {
  it('fetches an unsigned image with --insecure-options=image; policy new then uses the store', async () => {
    const w = world();
    const r = await w.run(['--insecure-options=image', 'fetch', `docker://${proxy.host}/team/app:v1`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(errorLines(r)).toEqual(['fetch: warning: image signature verification has been disabled']);
    const list = await w.run(['image', 'list', '--no-legend']);
    expect(list.stdout).toContain(`${proxy.host}/team/app:v1`);
    const before = proxy.log.length;
    const again = await w.run(['--insecure-options=image', 'fetch', '--pull-policy=new', `docker://${proxy.host}/team/app:v1`]);
    expect(again.stdout).toBe(r.stdout);
    expect(proxy.log.length).toBe(before);
  });

  it('refuses an unsigned image without --insecure-options=image and stores nothing', async () => {
    const w = world();
    const r = await w.run(['fetch', `docker:${proxy.host}/team/app:v1`]);
    expect(r.code).toBe(254);
    expect(r.stdout).toBe('');
    expect(errorLines(r)).toEqual([
      `fetch: fetching image from docker://${proxy.host}/team/app:v1: the image is not signed: no lookaside store is configured for ${proxy.host}/team/app in registries.d, and the source serves no signatures (see docs/signing-oci.md, or pass --insecure-options=image to use unsigned images)`,
    ]);
    expect((await w.run(['image', 'list', '--no-legend'])).stdout).toBe('');
  });

  it('fetches a signed image: skopeo standalone-sign, a registries.d lookaside, capsule trust --prefix', async () => {
    const w = world();
    const manifest = await rawManifest(`${reg.host}/team/app:v1`);
    const store = path.join(w.base, 'sigs');
    putLookaside(store, 'team/app', app.manifest.digest, [await standaloneSign(gpg, manifest, `${proxy.host}/team/app:v1`, fpr, w.base)]);
    writeRegistriesD(w.localConfig, proxy.host, pathToFileURL(store).toString());
    const t = await w.run(['trust', '--skip-fingerprint-review', '--prefix', `${proxy.host}/team`, gpg.exportPublic(fpr, path.join(w.base, 'k.asc'))]);
    expect(t.code, t.stderr).toBe(0);
    const r = await w.run(['fetch', `docker://${proxy.host}/team/app:v1`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('signature verified:\n  Capsule Registry Signer <registry-signer@example.com>');
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });

  it('downloads a layer already in the store only once (a second image sharing two of three layers)', async () => {
    const w = world();
    const first = await w.run(['--insecure-options=image', 'fetch', `docker://${proxy.host}/team/app:v1`]);
    expect(first.code, first.stderr).toBe(0);
    const [b, big, third] = sibling.layers.map((l) => l.digest);
    const before = { b: blobGets(b!), big: blobGets(big!), third: blobGets(third!) };
    const second = await w.run(['--insecure-options=image', 'fetch', `docker://${proxy.host}/team/app:sibling`]);
    expect(second.code, second.stderr).toBe(0);
    expect({ b: blobGets(b!) - before.b, big: blobGets(big!) - before.big, third: blobGets(third!) - before.third }).toEqual({ b: 0, big: 0, third: 1 });
  });

  it('resumes a blob whose connection was cut mid-transfer (Range)', async () => {
    const w = world();
    const big = app.layers[1]!;
    let cut = false;
    proxy.on(blobPath('team/app', big.digest), async (req, res, _entry, upstream) => {
      if (cut) {
        // Later requests go to the real registry, Range and all.
        const u = await upstream();
        res.writeHead(u.status, u.headers);
        res.end(u.body);
        return;
      }
      cut = true;
      const u = await upstream();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(u.body.length) });
      res.write(u.body.subarray(0, 64 * 1024), () => res.destroy());
    });
    try {
      const r = await w.run(['--insecure-options=image', 'fetch', `docker://${proxy.host}/team/app:v1`]);
      expect(r.code, r.stderr).toBe(0);
      const gets = proxy.log.filter((e) => e.path.endsWith(`/blobs/${big.digest}`));
      expect(gets.at(-1)!.headers.range).toMatch(/^bytes=\d+-$/);
      expect(Number(/^bytes=(\d+)-$/.exec(gets.at(-1)!.headers.range ?? '')?.[1])).toBeGreaterThan(0);
    } finally {
      proxy.reset();
    }
  });
});
