import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newHmacKey, newToken } from '../../src/mds/mds-hmac.js';
import type { MdsRegistration } from '../../src/mds/mds-registration.js';
import { mdsRoot, readRegistration, saveRegistration, serviceFile } from '../../src/mds/mds-store.js';
import { CAPSULE, errorLines } from '../helpers/cli.js';
import { makePodWorld, podSkipReason, waitFor, type PodWorld } from '../helpers/pods.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping metadata-service tests: ${skip}\n`);

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
}

function request(port: number, urlPath: string, o: { method?: string; form?: Record<string, string>; flavor?: boolean } = {}): Promise<Reply> {
  const body = o.form ? new URLSearchParams(o.form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (o.flavor !== false) headers['Metadata-Flavor'] = 'AppContainer';
    if (body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    const r = http.request({ host: '127.0.0.1', port, path: urlPath, method: o.method ?? (body ? 'POST' : 'GET'), headers, agent: false }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: b }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

describe.skipIf(skip !== null)('capsule metadata-service', () => {
  let w: PodWorld;
  let root: string;
  let service: ChildProcess | undefined;
  let port = 0;
  const registration = (uuid: string, over: Partial<MdsRegistration> = {}): MdsRegistration => ({
    uuid,
    token: newToken(),
    hmacKey: newHmacKey(),
    addresses: [],
    podManifest: { acKind: 'PodManifest', acVersion: '0.8.11', apps: [{ name: 'web', image: { id: `sha512-${'a'.repeat(128)}` }, annotations: [{ name: 'lorem', value: 'from-pod' }] }], annotations: [{ name: 'team', value: uuid.slice(0, 4) }] },
    apps: { web: { imageId: `sha512-${'a'.repeat(128)}`, imageManifest: { acKind: 'ImageManifest', acVersion: '0.8.11', name: 'example.com/web', annotations: [{ name: 'lorem', value: 'ipsum' }, { name: 'authors', value: 'me' }] } } },
    ...over,
  });
  const A = registration('aaaaaaaa-1111-4111-8111-111111111111');
  const B = registration('bbbbbbbb-2222-4222-8222-222222222222', { addresses: ['127.0.0.1'] });

  const start = async (args: string[] = ['--listen-port=0'], wrap: string[] = []): Promise<ChildProcess> => {
    fs.rmSync(serviceFile(root), { force: true });
    const argv = [...wrap, CAPSULE, ...w.flags, 'metadata-service', ...args];
    const child = spawn(argv[0] ?? CAPSULE, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    await waitFor('the service to listen', () => fs.existsSync(serviceFile(root)));
    port = (JSON.parse(fs.readFileSync(serviceFile(root), 'utf8')) as { port: number }).port;
    return child;
  };
  const stop = async (c: ChildProcess | undefined): Promise<number | null> => {
    if (!c || c.exitCode !== null) return c?.exitCode ?? null;
    const done = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    c.kill('SIGTERM');
    return done;
  };

  beforeAll(async () => {
    w = await makePodWorld('capsule-ap-mds-');
    root = mdsRoot(w.dir);
    saveRegistration(root, A);
    saveRegistration(root, B);
    service = await start();
  }, 120_000);
  afterAll(async () => {
    await stop(service);
    await w?.teardown();
  });

  it('keeps the registrations private to root', () => {
    expect(fs.statSync(root).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(root, 'pods', `${A.uuid}.json`)).mode & 0o777).toBe(0o600);
  });

  it('answers every endpoint with the spec content types', async () => {
    const t = `/${A.token}/acMetadata/v1`;
    expect(await request(port, `${t}/pod/uuid`)).toEqual({ status: 200, type: 'text/plain; charset=us-ascii', body: A.uuid });
    const m = await request(port, `${t}/pod/manifest`);
    expect(m.type).toBe('application/json');
    expect(JSON.parse(m.body)).toEqual(A.podManifest);
    expect(JSON.parse((await request(port, `${t}/pod/annotations`)).body)).toEqual([{ name: 'team', value: 'aaaa' }]);
    expect(await request(port, `${t}/apps/web/image/id`)).toEqual({ status: 200, type: 'text/plain; charset=us-ascii', body: `sha512-${'a'.repeat(128)}` });
    expect(JSON.parse((await request(port, `${t}/apps/web/image/manifest`)).body)).toEqual(A.apps.web?.imageManifest);
    const ann = await request(port, `${t}/apps/web/annotations`);
    expect(ann.type).toBe('application/json');
    expect(JSON.parse(ann.body)).toEqual([{ name: 'lorem', value: 'from-pod' }, { name: 'authors', value: 'me' }]);
  });

  it('identifies a caller by its source address on the pod network when the URL has no token', async () => {
    expect((await request(port, '/acMetadata/v1/pod/uuid')).body).toBe(B.uuid);
  });

  it('refuses requests without Metadata-Flavor, unknown tokens, and data of an app of another pod', async () => {
    expect((await request(port, `/${A.token}/acMetadata/v1/pod/uuid`, { flavor: false })).status).toBe(400);
    const unknown = await request(port, `/${newToken()}/acMetadata/v1/pod/manifest`);
    expect(unknown.status).toBe(403);
    expect(unknown.body).not.toContain('PodManifest');
    // B's token asking for an app only A has (B has one of the same name only in A's manifest).
    const other = registration('cccccccc-3333-4333-8333-333333333333', { apps: {} });
    saveRegistration(root, other);
    expect((await request(port, `/${other.token}/acMetadata/v1/apps/web/image/manifest`)).status).toBe(404);
    expect((await request(port, `/${other.token}/acMetadata/v1/pod/uuid`)).body).toBe(other.uuid);
  });

  it('HMAC round trip: A signs, B verifies with A\'s UUID; a changed content or the wrong UUID is 403', async () => {
    const sig = await request(port, `/${A.token}/acMetadata/v1/pod/hmac/sign`, { form: { content: 'the payload' } });
    expect(sig.status).toBe(200);
    expect(sig.type).toBe('text/plain; charset=us-ascii');
    const verify = (content: string, uuid: string): Promise<Reply> => request(port, `/${B.token}/acMetadata/v1/pod/hmac/verify`, { form: { content, uuid, signature: sig.body } });
    expect((await verify('the payload', A.uuid)).status).toBe(200);
    expect((await verify('the payload!', A.uuid)).status).toBe(403);
    expect((await verify('the payload', B.uuid)).status).toBe(403);
  });

  it('a restart loses nothing: the same tokens answer and old signatures still verify', async () => {
    const sig = (await request(port, `/${A.token}/acMetadata/v1/pod/hmac/sign`, { form: { content: 'before restart' } })).body;
    expect(await stop(service)).toBe(0);
    expect(fs.existsSync(serviceFile(root))).toBe(false);
    service = await start();
    expect((await request(port, `/${A.token}/acMetadata/v1/pod/uuid`)).body).toBe(A.uuid);
    expect((await request(port, `/${A.token}/acMetadata/v1/pod/hmac/verify`, { form: { content: 'before restart', uuid: A.uuid, signature: sig } })).status).toBe(200);
  });

  it('socket activation: serves the socket systemd passes (LISTEN_FDS)', async () => {
    await stop(service);
    const p = await freePort();
    service = spawn('/usr/bin/systemd-socket-activate', ['-l', `127.0.0.1:${p}`, CAPSULE, ...w.flags, 'metadata-service', '--listen-port=1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    // The service starts on the first connection; this request is that connection.
    await waitFor('the socket', async () => {
      try {
        return (await request(p, `/${A.token}/acMetadata/v1/pod/uuid`)).body === A.uuid;
      } catch {
        return false;
      }
    });
    expect(JSON.parse(fs.readFileSync(serviceFile(root), 'utf8'))).toMatchObject({ port: p });
    await stop(service);
    service = await start();
  });

  it('--mds-register: refused before anything is created, saying what is missing', async () => {
    const before = w.pods().length;
    let r = await w.run(['run', '--mds-register', '--net=host', w.probe]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual(['run: --mds-register: the pod must be on a CNI network the metadata service can see it on (--net=default), not --net=host']);
    r = await w.run(['prepare', '--mds-register', w.probe]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual(['prepare: --mds-register: not yet: registering a pod with the metadata service is not implemented (the service itself runs; see docs/metadata-service.md)']);
    await stop(service);
    r = await w.run(['run', '--mds-register', '--net=default', w.probe]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual(["run: --mds-register: no metadata service is running; start 'capsule metadata-service' (or its systemd socket unit, docs/metadata-service.md) first"]);
    expect(w.pods().length).toBe(before);
    service = await start();
  });

  it('removing a pod (rm, as gc does) removes its registration', async () => {
    const p = await w.run(['prepare', w.probe]);
    expect(p.code).toBe(0);
    const uuid = p.stdout.trim();
    saveRegistration(root, registration(uuid));
    expect(readRegistration(root, uuid)).not.toBeNull();
    await w.run(['rm', uuid]);
    expect(readRegistration(root, uuid)).toBeNull();
    expect(readRegistration(root, A.uuid)).not.toBeNull();
  });
});
