/**
 * Hostile registries, object stores and token servers, played by an HTTPS proxy in front of a
 * real docker-registry (basic auth, so there is an Authorization header to leak). Each attack
 * must end in one error line (exit 254) with nothing of the image stored, and the victim (an
 * image fetched before into the same store) must stay listed and intact.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type RunResult, type World } from '../helpers/cli.js';
import { startServer, type TestServer } from '../helpers/https-server.js';
import { busyboxEntries, hostArch, OciLayoutWriter, sha256, type BuiltImage } from '../helpers/oci-layout.js';
import { blobPath, manifestPath, startRegistryProxy, type RegistryProxy } from '../helpers/registry-proxy.js';
import { skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { testCa, type TestCa } from '../helpers/test-ca.js';
import { startTokenServer, TOKEN_ISSUER, TOKEN_SERVICE, type TokenServer } from '../helpers/token-server.js';

const USER = 'capsule-or-hostile';
const PASSWORD = 'pw-Hq2-very-secret';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

let ca: TestCa;
let tmp: string;
let reg: TestRegistry;
let proxy: RegistryProxy;
/** Another host (127.0.0.2) that redirected blobs land on; records what it received. */
let elsewhere: TestServer;
let plainElsewhere: TestServer;
let img: BuiltImage;
let arm: BuiltImage;
let w: World;
let victimId: string;

const fetchArgs = (ref: string): string[] => ['--insecure-options=image', 'fetch', `docker://${proxy.host}/${ref}`];

/** One line on stderr, exit 254, nothing on stdout, no secret anywhere, the victim alone in the store. */
async function expectRefused(r: RunResult, why: RegExp): Promise<void> {
  expect(r.code, r.stderr).toBe(254);
  expect(r.stdout).toBe('');
  const lines = errorLines(r).filter((l) => !l.includes('warning: image signature verification has been disabled'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^fetch: /);
  expect(lines[0]).toMatch(why);
  for (const secret of [PASSWORD, BASIC.slice(6)]) expect(r.stdout + r.stderr).not.toContain(secret);
  const list = await w.run(['image', 'list', '--no-legend', '--full']);
  expect(list.stdout.trim().split('\n')).toHaveLength(1);
  expect(list.stdout).toContain(victimId);
  const verify = await w.run(['image', 'verify', victimId]);
  expect(verify.code, verify.stderr).toBe(0);
}

beforeAll(async () => {
  ca = testCa();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-or-hostile-'));
  const layout = new OciLayoutWriter(path.join(tmp, 'layout'));
  img = layout.image({ layers: [{ entries: busyboxEntries() }, { entries: [{ path: 'payload', body: crypto.randomBytes(128 * 1024) }] }] });
  layout.tag('v1', img.manifest);
  arm = layout.image({ architecture: 'arm64', layers: [{ entries: [{ path: 'arch', body: 'arm64\n' }] }] });
  layout.tag('multi', layout.index([{ image: img, platform: { os: 'linux', architecture: hostArch() } }, { image: arm, platform: { os: 'linux', architecture: 's390x' } }]));
  const victim = layout.image({ layers: [{ entries: [{ path: 'victim', body: 'keep me\n' }] }] });
  layout.tag('victim', victim.manifest);
  reg = await startRegistry({ tls: ca, auth: { kind: 'basic', user: USER, password: PASSWORD } });
  const creds = { user: USER, password: PASSWORD };
  await skopeoPush(`oci:${layout.dir}:v1`, `${reg.host}/team/app:v1`, { creds });
  await skopeoPush(`oci:${layout.dir}:multi`, `${reg.host}/team/app:multi`, { creds, all: true });
  await skopeoPush(`oci:${layout.dir}:victim`, `${reg.host}/team/victim:v1`, { creds });
  proxy = await startRegistryProxy(ca, reg);
  elsewhere = await startServer({ tls: ca.server, host: '127.0.0.2' });
  plainElsewhere = await startServer({ host: '127.0.0.2' });
  w = makeWorld('capsule-or-hostile-');
  fs.mkdirSync(path.join(w.localConfig, 'tls.d'), { recursive: true });
  fs.copyFileSync(ca.ca.certFile, path.join(w.localConfig, 'tls.d', 'ca.pem'));
  fs.mkdirSync(path.join(w.localConfig, 'auth.d'));
  fs.writeFileSync(path.join(w.localConfig, 'auth.d', 'reg.json'), JSON.stringify({ rktKind: 'dockerAuth', rktVersion: 'v1', registries: [proxy.host], credentials: { user: USER, password: PASSWORD } }), { mode: 0o600 });
  const v = await w.run(fetchArgs('team/victim:v1'));
  expect(v.code, v.stderr).toBe(0);
  victimId = v.stdout.trim();
});

afterAll(async () => {
  await proxy.close();
  await elsewhere.close();
  await plainElsewhere.close();
  await reg.stop();
  w.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
  ca.cleanup();
});

describe('hostile registry answers', () => {
  it('blob digest mismatch: a layer with one byte changed is refused', async () => {
    const layer = img.layers[1]!;
    proxy.on(blobPath('team/app', layer.digest), async (_req, res, _e, upstream) => {
      const u = await upstream();
      const body = Buffer.from(u.body);
      body.writeUInt8(body.readUInt8(body.length >> 1) ^ 1, body.length >> 1);
      res.writeHead(200, { 'content-length': String(body.length), 'docker-content-digest': layer.digest });
      res.end(body);
    });
    try {
      await expectRefused(await w.run(fetchArgs('team/app:v1')), new RegExp(`${layer.digest.slice(0, 20)}.*|digest`));
    } finally {
      proxy.reset();
    }
  });

  it('a blob longer than its descriptor says is refused', async () => {
    const layer = img.layers[1]!;
    proxy.on(blobPath('team/app', layer.digest), async (_req, res, _e, upstream) => {
      const u = await upstream();
      const body = Buffer.concat([u.body, Buffer.alloc(4096)]);
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(body);
    });
    try {
      await expectRefused(await w.run(fetchArgs('team/app:v1')), /size|bytes|larger|longer/);
    } finally {
      proxy.reset();
    }
  });

  it('a manifest whose size lies (the index says fewer bytes than the manifest has) is refused', async () => {
    proxy.on(manifestPath('team/app', 'multi'), async (_req, res, _e, upstream) => {
      const u = await upstream();
      const doc = JSON.parse(u.body.toString()) as { manifests: { size: number }[] };
      for (const m of doc.manifests) m.size -= 7;
      res.writeHead(200, { 'content-type': String(u.headers['content-type']) });
      res.end(JSON.stringify(doc));
    });
    try {
      await expectRefused(await w.run(fetchArgs('team/app:multi')), /size|bytes|larger/);
    } finally {
      proxy.reset();
    }
  });

  it('a manifest over the bound is refused without reading it all', async () => {
    proxy.on(manifestPath('team/app', 'v1'), (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      const chunk = Buffer.alloc(1 << 20, 0x20);
      let sent = 0;
      const more = (): void => {
        while (sent < 64 && res.write(chunk)) sent++;
        if (sent >= 64) res.end();
        else res.once('drain', more);
      };
      res.on('close', () => (sent = 64));
      more();
    });
    try {
      await expectRefused(await w.run(fetchArgs('team/app:v1')), /larger than \d+ bytes/);
      const served = proxy.log.filter((e) => e.path === '/v2/team/app/manifests/v1').at(-1)!;
      expect(served.bytes).toBeLessThan(32 << 20);
    } finally {
      proxy.reset();
    }
  });

  it('an index that points to itself (served again for its child digest) ends in one error, not a loop', async () => {
    const child = `sha256:${'a'.repeat(64)}`;
    // Its descriptor names its own size (found by iterating until the length is stable).
    const make = (size: number): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: child, size, platform: { os: 'linux', architecture: hostArch() } }] }));
    let body = make(0);
    while (make(body.length).length !== body.length) body = make(body.length);
    body = make(body.length);
    proxy.on(manifestPath('team/app'), (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
      res.end(body);
    });
    try {
      await expectRefused(await w.run(fetchArgs('team/app:v1')), /digest|nested|size|platform/);
      expect(proxy.log.filter((e) => e.path.startsWith('/v2/team/app/manifests/')).length).toBeLessThan(12);
    } finally {
      proxy.reset();
    }
  });

  it('a schema 1 manifest is refused by name', async () => {
    proxy.on(manifestPath('team/app', 'v1'), (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
      res.end('{"schemaVersion":1}');
    });
    try {
      await expectRefused(await w.run(fetchArgs('team/app:v1')), /Docker schema 1 manifest/);
    } finally {
      proxy.reset();
    }
  });
});

describe('redirects of blobs to other hosts', () => {
  it('the Authorization header does not follow a redirect to another host', async () => {
    const layer = img.layers[1]!;
    elsewhere.route(`/blobs/${layer.digest}`, (_req, res) => {
      res.writeHead(200, { 'content-length': String(layer.size) });
      res.end(layer.bytes);
    });
    proxy.on(blobPath('team/app', layer.digest), (_req, res) => {
      res.writeHead(307, { location: elsewhere.url(`/blobs/${layer.digest}?X-Amz-Signature=abc`) });
      res.end();
    });
    try {
      const r = await w.run(['--debug', ...fetchArgs('team/app:v1')]);
      expect(r.code, r.stderr).toBe(0);
      const got = elsewhere.requests(`/blobs/${layer.digest}`);
      expect(got.length).toBeGreaterThan(0);
      for (const g of got) expect(g.headers.authorization).toBeUndefined();
      // The registry itself did get the credentials.
      expect(proxy.log.filter((e) => e.path.endsWith(`/blobs/${layer.digest}`)).every((e) => e.headers.authorization === BASIC)).toBe(true);
      for (const secret of [PASSWORD, BASIC.slice(6)]) expect(r.stdout + r.stderr).not.toContain(secret);
      // Not kept: remove it again so the store holds the victim alone for the other tests.
      expect((await w.run(['image', 'rm', r.stdout.trim()])).code).toBe(0);
    } finally {
      proxy.reset();
    }
  });

  it('a redirect from https to plain http is refused', async () => {
    const layer = img.layers[1]!;
    plainElsewhere.route(`/blobs/${layer.digest}`, (_req, res) => {
      res.end(layer.bytes);
    });
    proxy.on(blobPath('team/app', layer.digest), (_req, res) => {
      res.writeHead(302, { location: plainElsewhere.url(`/blobs/${layer.digest}`) });
      res.end();
    });
    try {
      await expectRefused(await w.run(['--insecure-options=image,http', ...fetchArgs('team/app:v1').slice(1)]), /refusing redirect from https:\/\/.* to plain http/);
      expect(plainElsewhere.requests(`/blobs/${layer.digest}`)).toEqual([]);
    } finally {
      proxy.reset();
    }
  });

  it("a 401 from the host a blob was redirected to does not send the registry's credentials to its realm", async () => {
    const layer = img.layers[1]!;
    elsewhere.route('/evil-realm', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"token":"x"}');
    });
    elsewhere.route(`/challenge/${layer.digest}`, (_req, res) => {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${elsewhere.url('/evil-realm')}",service=x` });
      res.end();
    });
    proxy.on(blobPath('team/app', layer.digest), (_req, res) => {
      res.writeHead(307, { location: elsewhere.url(`/challenge/${layer.digest}`) });
      res.end();
    });
    try {
      await expectRefused(await w.run(fetchArgs('team/app:v1')), /HTTP 401|access denied/);
      expect(elsewhere.requests('/evil-realm')).toEqual([]);
    } finally {
      proxy.reset();
    }
  });
});

describe('hostile token servers', () => {
  let tokens: TokenServer;
  let treg: TestRegistry;
  let tw: World;
  beforeAll(async () => {
    tokens = await startTokenServer(ca, { field: 'token', lifetime: 300 });
    treg = await startRegistry({ tls: ca, auth: { kind: 'token', realm: tokens.realm, service: TOKEN_SERVICE, issuer: TOKEN_ISSUER, certFile: tokens.certFile } });
    await skopeoPush(`oci:${path.join(tmp, 'layout')}:v1`, `${treg.host}/team/app:v1`);
    tw = makeWorld('capsule-or-token-');
    fs.mkdirSync(path.join(tw.localConfig, 'tls.d'), { recursive: true });
    fs.copyFileSync(ca.ca.certFile, path.join(tw.localConfig, 'tls.d', 'ca.pem'));
  });
  afterAll(async () => {
    await treg.stop();
    await tokens.close();
    tw.cleanup();
  });

  it.each([
    ['<html>502 Bad Gateway</html>', /the answer is not JSON/],
    ['{"token":"tok\\r\\nX-Injected: 1"}', /characters a header cannot carry/],
    ['{"expires_in":300}', /neither "token" nor "access_token"/],
    ['[]', /not a JSON object/],
  ])('garbage from the token server (%s) is one line, nothing stored', async (garbage, why) => {
    tokens.behaviour = { field: 'token', lifetime: 300, garbage };
    const r = await tw.run(['--insecure-options=image', 'fetch', `docker://${treg.host}/team/app:v1`]);
    expect(r.code).toBe(254);
    const lines = errorLines(r).filter((l) => !l.includes('warning:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^fetch: .*getting a registry token for ${treg.host}/team/app from ${tokens.realm}`));
    expect(lines[0]).toMatch(why);
    expect(lines[0]).not.toContain('X-Injected');
    expect((await tw.run(['image', 'list', '--no-legend'])).stdout).toBe('');
  });
});

// The helper's sha256 must agree with the registry's digests (what every assertion above relies on).
it('the fixtures are what the registry serves', () => {
  expect(sha256(img.manifest.bytes)).toBe(img.manifest.digest);
});
