/**
 * The registry ImageSource against Debian's docker-registry: content pushed with skopeo from OCI
 * layouts the test writes, pulled through openRegistrySource with Capsule's real HTTP client.
 * OCI and Docker schema2 media types, a two-platform index, a zstd layer; anonymous, Bearer
 * (`token` and `access_token`), token renewal on a 401 mid-pull, basic auth from auth.d's
 * dockerAuth; http registries only with --insecure-options=http; error answers as one line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInsecureOptions, type GlobalOptions } from '../../src/config/global-options.js';
import { openRegistrySource } from '../../src/oci/registry/registry-source.js';
import { parseOciReference } from '../../src/oci/reference.js';
import type { Descriptor, ImageSource, Sha256Digest } from '../../src/oci/types.js';
import { busyboxEntries, OciLayoutWriter, sha256, type BuiltImage } from '../helpers/oci-layout.js';
import { skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { testCa, type TestCa } from '../helpers/test-ca.js';
import { startTokenServer, TOKEN_ISSUER, TOKEN_SERVICE, type TokenServer } from '../helpers/token-server.js';

const USER = 'capsule-or-user';
const PASSWORD = 'pw-Rg7-very-secret';

let ca: TestCa;
let tmp: string;
let layout: OciLayoutWriter;
let img: BuiltImage;
let zimg: BuiltImage;
let arm: BuiltImage;
const stops: (() => Promise<void>)[] = [];

function globals(o: { insecure?: string; auth?: boolean; trustCa?: boolean } = {}): GlobalOptions {
  const base = fs.mkdtempSync(path.join(tmp, 'world-'));
  const localConfig = path.join(base, 'etc');
  fs.mkdirSync(path.join(localConfig, 'tls.d'), { recursive: true });
  if (o.trustCa !== false) fs.copyFileSync(ca.ca.certFile, path.join(localConfig, 'tls.d', 'ca.pem'));
  if (o.auth) {
    fs.mkdirSync(path.join(localConfig, 'auth.d'));
    fs.writeFileSync(path.join(localConfig, 'auth.d', 'reg.json'), JSON.stringify({ rktKind: 'dockerAuth', rktVersion: 'v1', registries: ['127.0.0.1'], credentials: { user: USER, password: PASSWORD } }), { mode: 0o600 });
  }
  return { dir: path.join(base, 'var'), localConfig, systemConfig: path.join(base, 'usr-lib'), userConfig: undefined, insecure: parseInsecureOptions(o.insecure), debug: false, trustKeysFromHttps: false };
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** Pulls the manifest and every blob of `want` through the source and checks them byte for byte. */
async function pullAll(src: ImageSource, want: BuiltImage): Promise<void> {
  const m = await src.getManifest(undefined, 4 << 20);
  expect(sha256(m.bytes)).toBe(want.manifest.digest);
  const doc = JSON.parse(m.bytes.toString()) as { config: Descriptor; layers: Descriptor[] };
  for (const d of [doc.config, ...doc.layers]) {
    const b = await collect(await src.getBlob(d, 0));
    expect(sha256(b)).toBe(d.digest);
  }
}

async function registry(o: Parameters<typeof startRegistry>[0]): Promise<TestRegistry> {
  const r = await startRegistry(o);
  stops.push(() => r.stop());
  return r;
}

let open: TestRegistry;

beforeAll(async () => {
  ca = testCa();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-or-src-'));
  layout = new OciLayoutWriter(path.join(tmp, 'layout'));
  img = layout.image({ layers: [{ entries: busyboxEntries() }, { entries: [{ path: 'etc/', type: 'Directory' }, { path: 'etc/hello', body: 'hello from layer two\n' }] }] });
  layout.tag('v1', img.manifest);
  zimg = layout.image({ layers: [{ entries: [{ path: 'z/', type: 'Directory' }, { path: 'z/file', body: 'zstd layer\n'.repeat(100) }], compression: 'zstd' }] });
  layout.tag('zstd', zimg.manifest);
  arm = layout.image({ architecture: 'arm64', layers: [{ entries: [{ path: 'arch', body: 'arm64\n' }] }] });
  const index = layout.index([
    { image: img, platform: { os: 'linux', architecture: 'amd64' } },
    { image: arm, platform: { os: 'linux', architecture: 'arm64' } },
  ]);
  layout.tag('multi', index);
  open = await registry({ tls: ca });
  await skopeoPush(`oci:${layout.dir}:v1`, `${open.host}/team/app:v1`);
  await skopeoPush(`oci:${layout.dir}:v1`, `${open.host}/team/docker:v1`, { dockerFormat: true });
  await skopeoPush(`oci:${layout.dir}:zstd`, `${open.host}/team/app:zstd`);
  await skopeoPush(`oci:${layout.dir}:multi`, `${open.host}/team/app:multi`, { all: true });
});

afterAll(async () => {
  for (const s of stops.reverse()) await s();
  fs.rmSync(tmp, { recursive: true, force: true });
  ca.cleanup();
});

describe('anonymous pulls from an open registry', () => {
  it('serves an OCI manifest by tag and by digest, with its Content-Type, and every blob', async () => {
    const src = await openRegistrySource(parseOciReference(`${open.host}/team/app:v1`), { g: globals() });
    try {
      expect(src.description).toBe(`docker://${open.host}/team/app:v1`);
      expect(src.canResume).toBe(true);
      const m = await src.getManifest(undefined, 1 << 20);
      expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      const again = await src.getManifest(img.manifest.digest as Sha256Digest, 1 << 20);
      expect(again.bytes.equals(m.bytes)).toBe(true);
      await pullAll(src, img);
      expect(await src.getSignatures(img.manifest.digest as Sha256Digest)).toEqual([]);
    } finally {
      await src.close();
    }
  });

  it('serves Docker schema2 media types as skopeo converted them', async () => {
    const src = await openRegistrySource(parseOciReference(`${open.host}/team/docker:v1`), { g: globals() });
    try {
      const m = await src.getManifest(undefined, 1 << 20);
      expect(m.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
      const doc = JSON.parse(m.bytes.toString()) as { config: Descriptor; layers: Descriptor[] };
      expect(doc.layers[0]!.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
      for (const d of [doc.config, ...doc.layers]) expect(sha256(await collect(await src.getBlob(d, 0)))).toBe(d.digest);
    } finally {
      await src.close();
    }
  });

  it('serves a zstd layer and a two-platform index whose children are fetched by digest', async () => {
    const z = await openRegistrySource(parseOciReference(`${open.host}/team/app:zstd`), { g: globals() });
    try {
      await pullAll(z, zimg);
      expect(zimg.layers[0]!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    } finally {
      await z.close();
    }
    const src = await openRegistrySource(parseOciReference(`${open.host}/team/app:multi`), { g: globals() });
    try {
      const top = await src.getManifest(undefined, 1 << 20);
      expect(top.mediaType).toBe('application/vnd.oci.image.index.v1+json');
      const idx = JSON.parse(top.bytes.toString()) as { manifests: Descriptor[] };
      expect(idx.manifests.map((d) => d.platform?.architecture)).toEqual(['amd64', 'arm64']);
      const child = await src.getManifest(idx.manifests[1]!.digest, 1 << 20);
      expect(sha256(child.bytes)).toBe(arm.manifest.digest);
    } finally {
      await src.close();
    }
  });

  it('resumes a blob from an offset with Range', async () => {
    const src = await openRegistrySource(parseOciReference(`${open.host}/team/app:v1`), { g: globals() });
    try {
      const layer = img.layers[0]!;
      const d = { mediaType: layer.mediaType, digest: layer.digest as Sha256Digest, size: layer.size };
      const tail = await collect(await src.getBlob(d, 1000));
      expect(tail.equals(layer.bytes.subarray(1000))).toBe(true);
    } finally {
      await src.close();
    }
  });

  it('turns a registry error answer into one line naming the registry and the repository', async () => {
    const src = await openRegistrySource(parseOciReference(`${open.host}/team/missing:v1`), { g: globals() });
    try {
      await expect(src.getManifest(undefined, 1 << 20)).rejects.toThrow(`registry ${open.host}, repository team/missing: getting manifest v1: manifest unknown (MANIFEST_UNKNOWN) (HTTP 404)`);
    } finally {
      await src.close();
    }
  });

  it('refuses a manifest larger than the bound it was given', async () => {
    const src = await openRegistrySource(parseOciReference(`${open.host}/team/app:v1`), { g: globals() });
    try {
      await expect(src.getManifest(undefined, 100)).rejects.toThrow(/getting manifest v1/);
    } finally {
      await src.close();
    }
  });
});

describe('plain http registries', () => {
  it('are refused without --insecure-options=http and pulled with it', async () => {
    const plain = await registry({});
    await skopeoPush(`oci:${layout.dir}:v1`, `${plain.host}/team/app:v1`);
    const ref = parseOciReference(`${plain.host}/team/app:v1`);
    await expect(openRegistrySource(ref, { g: globals() })).rejects.toMatchObject({ hint: 'if the registry speaks plain http, pass --insecure-options=http' });
    const src = await openRegistrySource(ref, { g: globals({ insecure: 'http' }) });
    try {
      await pullAll(src, img);
    } finally {
      await src.close();
    }
  });

  it('a registry with a certificate nobody trusts needs --insecure-options=tls', async () => {
    const ref = parseOciReference(`${open.host}/team/app:v1`);
    await expect(openRegistrySource(ref, { g: globals({ trustCa: false }) })).rejects.toThrow(/pinging https:\/\/127\.0\.0\.1/);
    const src = await openRegistrySource(ref, { g: globals({ trustCa: false, insecure: 'tls' }) });
    try {
      await pullAll(src, img);
    } finally {
      await src.close();
    }
  });
});

describe('basic auth (htpasswd) with dockerAuth credentials', () => {
  let basic: TestRegistry;
  beforeAll(async () => {
    basic = await registry({ tls: ca, auth: { kind: 'basic', user: USER, password: PASSWORD } });
    await skopeoPush(`oci:${layout.dir}:v1`, `${basic.host}/team/app:v1`, { creds: { user: USER, password: PASSWORD } });
  });

  it('pulls with the credentials from auth.d', async () => {
    const src = await openRegistrySource(parseOciReference(`${basic.host}/team/app:v1`), { g: globals({ auth: true }) });
    try {
      await pullAll(src, img);
    } finally {
      await src.close();
    }
  });

  it('without credentials says which file to write, and never prints a secret', async () => {
    const e = await openRegistrySource(parseOciReference(`${basic.host}/team/app:v1`), { g: globals() }).then(
      () => undefined,
      (x: unknown) => x as Error & { hint?: string },
    );
    expect(e?.message).toBe(`${basic.host}/team/app: the registry asks for a user name and password`);
    expect(e?.hint).toContain('dockerAuth');
  });
});

describe('token auth', () => {
  let tokens: TokenServer;
  let reg: TestRegistry;
  beforeAll(async () => {
    tokens = await startTokenServer(ca, { field: 'token', lifetime: 300 });
    stops.push(() => tokens.close());
    reg = await registry({ tls: ca, auth: { kind: 'token', realm: tokens.realm, service: TOKEN_SERVICE, issuer: TOKEN_ISSUER, certFile: tokens.certFile } });
    await skopeoPush(`oci:${layout.dir}:v1`, `${reg.host}/team/app:v1`);
  });

  for (const field of ['token', 'access_token'] as const) {
    it(`pulls anonymously with a Bearer token from the realm ("${field}" in the answer)`, async () => {
      tokens.behaviour = { field, lifetime: 300 };
      const before = tokens.issued;
      const src = await openRegistrySource(parseOciReference(`${reg.host}/team/app:v1`), { g: globals() });
      try {
        await pullAll(src, img);
      } finally {
        await src.close();
      }
      // One token for the whole pull: it is reused, not fetched per request.
      expect(tokens.issued - before).toBe(1);
      const asked = tokens.server.requests('/token').at(-1)!;
      expect(new URL(asked.url, 'https://x').searchParams.getAll('scope')).toEqual(['repository:team/app:pull']);
      expect(new URL(asked.url, 'https://x').searchParams.get('service')).toBe(TOKEN_SERVICE);
      expect(asked.headers.authorization).toBeUndefined();
    });
  }

  it('sends the dockerAuth credentials to the realm, not to the registry', async () => {
    tokens.behaviour = { field: 'token', lifetime: 300, require: { user: USER, password: PASSWORD } };
    const src = await openRegistrySource(parseOciReference(`${reg.host}/team/app:v1`), { g: globals({ auth: true }) });
    try {
      await pullAll(src, img);
    } finally {
      await src.close();
    }
    expect(tokens.server.requests('/token').at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`);
    await expect(openRegistrySource(parseOciReference(`${reg.host}/team/app:v1`), { g: globals() })).rejects.toThrow(/access denied to anonymous users \(HTTP 401\)/);
  });

  it('renews a token the registry refuses mid-pull', async () => {
    tokens.behaviour = { field: 'token', lifetime: 300 };
    const before = tokens.issued;
    const src = await openRegistrySource(parseOciReference(`${reg.host}/team/app:v1`), { g: globals() });
    try {
      await src.getManifest(undefined, 1 << 20);
      // The registry now trusts only tokens signed with a new key: the one we hold is refused.
      tokens.rotateKey();
      await reg.restart();
      await pullAll(src, img);
    } finally {
      await src.close();
    }
    expect(tokens.issued - before).toBe(2);
  });

  it('renews a token before use once its expires_in has passed on our clock', async () => {
    tokens.behaviour = { field: 'token', lifetime: 300 };
    let clock = Date.now();
    const before = tokens.issued;
    const src = await openRegistrySource(parseOciReference(`${reg.host}/team/app:v1`), { g: globals(), now: () => clock });
    try {
      await src.getManifest(undefined, 1 << 20);
      clock += 301_000;
      await src.getManifest(undefined, 1 << 20);
    } finally {
      await src.close();
    }
    expect(tokens.issued - before).toBe(2);
  });
});

describe('docker.d: default registry and mirrors', () => {
  function withDockerD(g: GlobalOptions, doc: Record<string, unknown>): GlobalOptions {
    fs.mkdirSync(path.join(g.localConfig, 'docker.d'), { recursive: true });
    fs.writeFileSync(path.join(g.localConfig, 'docker.d', 'registries.json'), JSON.stringify({ rktKind: 'dockerRegistries', rktVersion: 'v1', ...doc }));
    return g;
  }

  it('pulls from a mirror first and keeps the name that was asked for', async () => {
    // The registry itself does not answer at all (nothing listens on port 1).
    const g = withDockerD(globals(), { mirrors: { '127.0.0.1:1': ['127.0.0.2:1', open.host] } });
    const debug: string[] = [];
    const src = await openRegistrySource(parseOciReference('127.0.0.1:1/team/app:v1'), { g, debug: (m) => debug.push(m) });
    try {
      expect(src.ref.registry).toBe('127.0.0.1:1');
      await pullAll(src, img);
      expect(debug.join('\n')).toContain('registry mirror 127.0.0.2:1 does not answer');
      expect(debug.join('\n')).toContain(`from mirror ${open.host}`);
    } finally {
      await src.close();
    }
  });

  it('falls back to the registry when a mirror lacks the image', async () => {
    const empty = await registry({ tls: ca });
    const g = withDockerD(globals(), { mirrors: { [open.host]: [empty.host] } });
    const src = await openRegistrySource(parseOciReference(`${open.host}/team/app:v1`), { g });
    try {
      await pullAll(src, img);
    } finally {
      await src.close();
    }
  });

  it('names without a registry go to defaultRegistry', async () => {
    const g = withDockerD(globals(), { defaultRegistry: open.host });
    const { loadRegistryConfig } = await import('../../src/oci/registry/registry-config.js');
    const ref = parseOciReference('team/app:v1', loadRegistryConfig([g.systemConfig, g.localConfig]).defaultRegistry);
    expect(ref.registry).toBe(open.host);
    const src = await openRegistrySource(ref, { g });
    try {
      await pullAll(src, img);
    } finally {
      await src.close();
    }
  });
});
