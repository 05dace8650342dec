import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
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

  it('takes a token only from the pod\'s own addresses; an address without a token identifies nobody', async () => {
    expect((await request(port, `/${B.token}/acMetadata/v1/pod/uuid`)).body).toBe(B.uuid);
    const far = registration('dddddddd-4444-4444-8444-444444444444', { addresses: ['172.16.28.250'] });
    saveRegistration(root, far);
    expect((await request(port, `/${far.token}/acMetadata/v1/pod/uuid`)).status).toBe(403);
    expect((await request(port, '/acMetadata/v1/pod/uuid')).status).toBe(403);
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
    r = await w.run(['run', '--mds-register', '--stage1=fly', w.probe]);
    expect(errorLines(r)).toEqual(["run: --mds-register: the fly flavour shares the host's network, where the metadata service cannot tell the pod from the host"]);
    r = await w.run(['run', '--mds-register', '--net=none', w.probe]);
    expect(errorLines(r)).toEqual(['run: --mds-register: the pod must be on a CNI network the metadata service can see it on (--net=default), not --net=none']);
    await stop(service);
    r = await w.run(['run', '--mds-register', '--net=default', w.probe]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual(["run: --mds-register: no metadata service is running; start 'capsule metadata-service' (or its systemd socket unit, docs/metadata-service.md) first"]);
    expect(w.pods().length).toBe(before);
    service = await start();
  });

  it('a registered pod on the default net reads every endpoint with AC_METADATA_URL, signs and verifies; others get errors; rm removes it', async () => {
    const script = [
      'H="Metadata-Flavor: AppContainer"; U="$AC_METADATA_URL/acMetadata/v1"',
      'echo "url=$AC_METADATA_URL"',
      'for p in pod/uuid pod/manifest pod/annotations apps/busybox/image/id apps/busybox/image/manifest apps/busybox/annotations; do echo "== $p"; wget -q -O - --header "$H" "$U/$p"; echo; done',
      'sig=$(wget -q -O - --header "$H" --post-data "content=hello" "$U/pod/hmac/sign")',
      'enc=$(echo "$sig" | sed "s/+/%2B/g; s#/#%2F#g; s/=/%3D/g")',
      'uuid=$(wget -q -O - --header "$H" "$U/pod/uuid")',
      'wget -q -O /dev/null --header "$H" --post-data "content=hello&uuid=$uuid&signature=$enc" "$U/pod/hmac/verify" && echo verify=ok',
      'wget -q -O /dev/null --header "$H" --post-data "content=other&uuid=$uuid&signature=$enc" "$U/pod/hmac/verify" || echo verify=refused',
      'wget -q -O /dev/null "$U/pod/uuid" || echo noflavor=refused',
      'wget -q -O /dev/null --header "$H" "${AC_METADATA_URL%/*}/acMetadata/v1/pod/uuid" || echo notoken=refused',
    ].join('\n');
    const uuidFile = path.join(w.base, 'mds-pod');
    const r = await w.run(['run', '--uuid-file-save', uuidFile, '--mds-register', w.busybox, '--annotation=team=blue', '--exec=/bin/sh', '--', '-c', script]);
    // The refusals, in order: a changed content's verify, no Metadata-Flavor, no token.
    expect(r.stderr.trim().split('\n')).toEqual(['wget: server returned error: HTTP/1.1 403 Forbidden', 'wget: server returned error: HTTP/1.1 400 Bad Request', 'wget: server returned error: HTTP/1.1 403 Forbidden']);
    expect(r.code).toBe(0);
    const uuid = fs.readFileSync(uuidFile, 'utf8').trim();
    const reg = readRegistration(root, uuid);
    if (!reg) throw new Error('not registered');
    const out = r.stdout;
    const section = (p: string): string => out.split(`== ${p}\n`)[1]?.split('\n')[0] ?? '';
    expect(out).toContain(`url=http://`);
    expect(out).toMatch(new RegExp(`url=http://[0-9.]+:${port}/${reg.token}\n`));
    expect(section('pod/uuid')).toBe(uuid);
    expect(JSON.parse(section('pod/manifest'))).toEqual(JSON.parse(fs.readFileSync(path.join(w.pods().find((p) => p.endsWith(uuid)) ?? '', 'pod'), 'utf8')));
    expect(JSON.parse(section('pod/annotations'))).toEqual(reg.podManifest.annotations ?? []);
    expect(section('apps/busybox/image/id')).toBe(reg.apps.busybox?.imageId);
    expect(JSON.parse(section('apps/busybox/image/manifest'))).toMatchObject({ acKind: 'ImageManifest' });
    expect(JSON.parse(section('apps/busybox/annotations'))).toContainEqual({ name: 'team', value: 'blue' });
    for (const l of ['verify=ok', 'verify=refused', 'noflavor=refused', 'notoken=refused']) expect(out).toContain(`${l}\n`);
    expect(reg.addresses.length).toBe(1);
    // From anywhere but the pod's address (here the host), its token is refused.
    expect((await request(port, `/${reg.token}/acMetadata/v1/pod/uuid`)).status).toBe(403);

    // An unregistered pod gets no AC_METADATA_URL and is refused, with the first pod's URL too.
    const url = /url=(\S+)/.exec(out)?.[1] ?? '';
    const u2 = path.join(w.base, 'mds-other');
    const other = await w.run(['run', '--uuid-file-save', u2, w.busybox, `--set-env=OTHER=${url}`, '--exec=/bin/sh', '--', '-c', 'echo "mine=${AC_METADATA_URL:-unset}"; wget -q -O - --header "Metadata-Flavor: AppContainer" "$OTHER/acMetadata/v1/pod/manifest" || echo other=refused; wget -q -O - --header "Metadata-Flavor: AppContainer" "${OTHER%/*}/acMetadata/v1/pod/uuid" || echo bare=refused']);
    expect(other.code).toBe(0);
    expect(other.stderr.trim().split('\n')).toEqual(['wget: server returned error: HTTP/1.1 403 Forbidden', 'wget: server returned error: HTTP/1.1 403 Forbidden']);
    expect(other.stdout).toBe('mine=unset\nother=refused\nbare=refused\n');
    expect(other.stdout).not.toContain('PodManifest');

    // A restart of the service keeps the registration (on disk); rm removes it.
    await stop(service);
    service = await start();
    expect(readRegistration(root, uuid)).toEqual(reg);
    expect((await w.run(['rm', uuid])).code).toBe(0);
    expect(readRegistration(root, uuid)).toBeNull();
    expect(fs.existsSync(path.join(root, 'tokens', reg.token))).toBe(false);
    await w.run(['rm', fs.readFileSync(u2, 'utf8').trim()]);
  }, 90_000);

  it('prepare --mds-register, then run-prepared on default-restricted: the app reaches the service; gc removes the registration; a pod prepared without it is refused at run-prepared', async () => {
    const p = await w.run(['prepare', '--quiet', '--mds-register', w.busybox, '--exec=/bin/sh', '--', '-c', 'wget -q -O - --header "Metadata-Flavor: AppContainer" "$AC_METADATA_URL/acMetadata/v1/pod/uuid"']);
    expect(p.stderr).toBe('');
    const uuid = p.stdout.trim();
    const reg = readRegistration(root, uuid);
    expect(reg?.addresses).toEqual([]);
    const r = await w.run(['run-prepared', '--net=default-restricted', uuid]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(uuid);
    expect(readRegistration(root, uuid)?.addresses).toHaveLength(1);
    expect((await w.run(['gc', '--grace-period=0s'])).code).toBe(0);
    expect(readRegistration(root, uuid)).toBeNull();

    const plain = (await w.run(['prepare', '--quiet', w.probe])).stdout.trim();
    const refused = await w.run(['run-prepared', '--mds-register', plain]);
    expect(refused.code).toBe(254);
    expect(errorLines(refused)).toEqual(['run-prepared: --mds-register: the pod was prepared without it; register it at prepare (prepare --mds-register)']);
    expect(w.pods().filter((d) => d.endsWith(plain)).map((d) => path.basename(path.dirname(d)))).toEqual(['prepared']);
    await w.run(['rm', plain]);
  }, 90_000);

  it('a user net from net.d (a bridge): the registered pod reaches the service on its gateway', async () => {
    const tag = crypto.randomBytes(3).toString('hex');
    const bridge = `capap-${tag}`;
    const net = `capsule-ap-mds-${tag}`;
    const netd = path.join(w.localConfig, 'net.d');
    fs.mkdirSync(netd, { recursive: true });
    fs.writeFileSync(path.join(netd, `50-${net}.conflist`), JSON.stringify({ cniVersion: '1.0.0', name: net, plugins: [{ type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', subnet: `10.253.${(parseInt(tag.slice(0, 2), 16) % 200) + 20}.0/24`, dataDir: path.join(w.base, 'ipam') } }] }));
    try {
      const r = await w.run(['run', '--uuid-file-save', path.join(w.base, 'usernet'), '--mds-register', `--net=${net}`, w.busybox, '--exec=/bin/sh', '--', '-c', 'echo "$AC_METADATA_URL"; wget -q -O - --header "Metadata-Flavor: AppContainer" "$AC_METADATA_URL/acMetadata/v1/pod/uuid"']);
      expect(r.stderr).toBe('');
      const uuid = fs.readFileSync(path.join(w.base, 'usernet'), 'utf8').trim();
      const [url, got] = r.stdout.split('\n');
      expect(url).toMatch(/^http:\/\/10\.253\.\d+\.1:\d+\/[A-Za-z0-9_-]{43}$/);
      expect(got).toBe(uuid);
      expect(readRegistration(root, uuid)?.addresses[0]).toMatch(/^10\.253\./);
      expect((await w.run(['rm', uuid])).code).toBe(0);
      expect(readRegistration(root, uuid)).toBeNull();
    } finally {
      try {
        execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
      } catch {
        /* never made */
      }
    }
  }, 90_000);

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
