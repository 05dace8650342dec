/**
 * Credentials for HTTPS fetches: rkt's `auth.d/*.json` (basic and oauth/bearer, per domain,
 * system < local < user) and user:password in the URL. What the server received is checked:
 * the right header on the right host, nothing on another host after a redirect. Secrets never
 * appear in capsule's output, with or without --debug.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult, World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { basicAuthorization, redirect, requireAuth, serveFile, startServer, type TestServer } from '../helpers/https-server.js';
import { testCa, type TestCa } from '../helpers/test-ca.js';
import { expectFetched, expectFetchFailed, remoteWorld, signedImage, SIGNER_UID, type SignedImage } from './remote-fixtures.js';

const USER = 'capsule-user';
const PASSWORD = 'pw-Zq8-very-secret';
const TOKEN = 'tok-Xv3-very-secret';
const BASIC = basicAuthorization(USER, PASSWORD);
const BEARER = `Bearer ${TOKEN}`;

let ca: TestCa;
let gpg: GpgHome;
let fpr: string;
let scratch: string;
let server: TestServer;
/** Another host (127.0.0.2) that redirects may point to. */
let elsewhere: TestServer;
let app: SignedImage;
const worlds: World[] = [];

function world(): World {
  const w = remoteWorld(ca, gpg, fpr);
  worlds.push(w);
  return w;
}

function writeAuth(configDir: string, file: string, doc: Record<string, unknown>): void {
  fs.mkdirSync(path.join(configDir, 'auth.d'), { recursive: true });
  fs.writeFileSync(path.join(configDir, 'auth.d', file), JSON.stringify({ rktKind: 'auth', rktVersion: 'v1', domains: ['127.0.0.1'], ...doc }), { mode: 0o600 });
}
const basic = (user: string, password: string): Record<string, unknown> => ({ type: 'basic', credentials: { user, password } });
const oauth = (token: string): Record<string, unknown> => ({ type: 'oauth', credentials: { token } });

/** Neither the secrets nor their base64 form appear anywhere in what capsule printed. */
function expectNoSecrets(r: RunResult): void {
  const out = r.stdout + r.stderr;
  for (const secret of [PASSWORD, TOKEN, BASIC.slice('Basic '.length), 'wrong-password', 'wrong-token']) expect(out).not.toContain(secret);
}

/** Serves the image and its signature at `p` behind `authorization`. */
function protect(p: string, authorization: string): string {
  server.route(p, requireAuth(authorization, serveFile(app.aci)));
  server.route(`${p}.asc`, requireAuth(authorization, serveFile(app.asc)));
  return server.url(p);
}

beforeAll(async () => {
  ca = testCa();
  gpg = makeGpgHome();
  fpr = gpg.genKey(SIGNER_UID);
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-auth-'));
  app = signedImage(gpg, scratch, fpr, 'example.com/remote/private', [{ path: 'rootfs/p', body: 'private\n' }]);
  server = await startServer({ tls: ca.server });
  elsewhere = await startServer({ tls: ca.server, host: '127.0.0.2' });
  elsewhere.route('/moved/app.aci', serveFile(app.aci));
  elsewhere.route('/moved/app.aci.asc', serveFile(app.asc));
});

afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
  server.log.length = 0;
  elsewhere.log.length = 0;
});

afterAll(async () => {
  await server.close();
  await elsewhere.close();
  gpg.cleanup();
  ca.cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('auth.d basic', () => {
  it('sends the configured credentials to the domain, for image and signature', async () => {
    const w = world();
    writeAuth(w.localConfig, 'basic.json', basic(USER, PASSWORD));
    const r = await w.run(['fetch', protect('/basic/app.aci', BASIC)]);
    await expectFetched(w, r, app);
    expect(server.log.map((e) => [e.path, e.headers.authorization, e.status]).sort()).toEqual([
      ['/basic/app.aci', BASIC, 200],
      ['/basic/app.aci.asc', BASIC, 200],
    ]);
    expectNoSecrets(r);
  });

  it('wrong credentials: the 401 is reported in one line, and no secret is printed (even with --debug)', async () => {
    for (const debug of [false, true]) {
      const w = world();
      writeAuth(w.localConfig, 'basic.json', basic(USER, 'wrong-password'));
      const url = protect('/basic-wrong/app.aci', BASIC);
      const r = await w.run([...(debug ? ['--debug'] : []), 'fetch', url]);
      if (!debug) await expectFetchFailed(w, r, /401/);
      else {
        expect(r.code).toBe(254);
        expect(r.stderr).toContain('401');
      }
      expectNoSecrets(r);
    }
  });

  it('no credentials configured: 401', async () => {
    const w = world();
    const r = await w.run(['fetch', protect('/basic-none/app.aci', BASIC)]);
    await expectFetchFailed(w, r, /bad HTTP status code: 401/);
    expect(server.log.every((e) => e.headers.authorization === undefined)).toBe(true);
  });

  it('credentials for another domain are not sent', async () => {
    const w = world();
    writeAuth(w.localConfig, 'other.json', { ...basic(USER, PASSWORD), domains: ['registry.example.com'] });
    const r = await w.run(['fetch', protect('/basic-other/app.aci', BASIC)]);
    await expectFetchFailed(w, r, /401/);
    expect(server.log.every((e) => e.headers.authorization === undefined)).toBe(true);
  });

  it('the user configuration wins over local and system for the same domain', async () => {
    const w = world();
    const user = path.join(w.base, 'user-config');
    writeAuth(w.systemConfig, 'a.json', basic(USER, 'wrong-password'));
    writeAuth(w.localConfig, 'a.json', basic(USER, 'wrong-password'));
    writeAuth(user, 'a.json', basic(USER, PASSWORD));
    const r = await w.run([`--user-config=${user}`, 'fetch', protect('/basic-levels/app.aci', BASIC)]);
    await expectFetched(w, r, app);
  });

  it('a broken auth.d file is named, its contents are not', async () => {
    const w = world();
    fs.mkdirSync(path.join(w.localConfig, 'auth.d'), { recursive: true });
    const file = path.join(w.localConfig, 'auth.d', 'broken.json');
    fs.writeFileSync(file, `{"rktKind":"auth","rktVersion":"v1","domains":["127.0.0.1"],"type":"basic","credentials":{"user":"${USER}","password":"${PASSWORD}"`, { mode: 0o600 });
    const r = await w.run(['fetch', protect('/broken/app.aci', BASIC)]);
    const line = await expectFetchFailed(w, r, /broken\.json/);
    expect(line).not.toContain(USER);
    expectNoSecrets(r);
    expect(server.log).toEqual([]);
  });
});

describe('auth.d oauth (bearer)', () => {
  it('sends Authorization: Bearer <token>', async () => {
    const w = world();
    writeAuth(w.localConfig, 'token.json', oauth(TOKEN));
    const r = await w.run(['fetch', protect('/bearer/app.aci', BEARER)]);
    await expectFetched(w, r, app);
    expect(server.log.map((e) => e.headers.authorization)).toEqual([BEARER, BEARER]);
    expectNoSecrets(r);
  });

  it('a wrong token: 401, token never printed (even with --debug)', async () => {
    for (const debug of [false, true]) {
      const w = world();
      writeAuth(w.localConfig, 'token.json', oauth('wrong-token'));
      const r = await w.run([...(debug ? ['--debug'] : []), 'fetch', protect('/bearer-wrong/app.aci', BEARER)]);
      if (!debug) await expectFetchFailed(w, r, /401/);
      else expect(r.code).toBe(254);
      expectNoSecrets(r);
    }
  });
});

describe('credentials and redirects', () => {
  it('auth.d credentials are not sent to the host a redirect points to', async () => {
    const w = world();
    writeAuth(w.localConfig, 'basic.json', basic(USER, PASSWORD));
    server.route('/redir/app.aci', requireAuth(BASIC, redirect(elsewhere.url('/moved/app.aci'))));
    server.route('/redir/app.aci.asc', requireAuth(BASIC, redirect(elsewhere.url('/moved/app.aci.asc'))));
    const r = await w.run(['fetch', server.url('/redir/app.aci')]);
    await expectFetched(w, r, app);
    expect(server.log.map((e) => [e.headers.authorization, e.status])).toEqual([
      [BASIC, 302],
      [BASIC, 302],
    ]);
    expect(elsewhere.log.map((e) => [e.path, e.headers.authorization]).sort()).toEqual([
      ['/moved/app.aci', undefined],
      ['/moved/app.aci.asc', undefined],
    ]);
  });

  it('a redirect to the same address under another name (localhost) is another host: no credentials', async () => {
    const w = world();
    writeAuth(w.localConfig, 'basic.json', basic(USER, PASSWORD));
    server.route('/alias/app.aci', requireAuth(BASIC, redirect(`https://localhost:${server.port}/alias-target/app.aci`)));
    server.route('/alias/app.aci.asc', requireAuth(BASIC, redirect(`https://localhost:${server.port}/alias-target/app.aci.asc`)));
    server.route('/alias-target/app.aci', serveFile(app.aci));
    server.route('/alias-target/app.aci.asc', serveFile(app.asc));
    const r = await w.run(['fetch', server.url('/alias/app.aci')]);
    await expectFetched(w, r, app);
    const targets = server.log.filter((e) => e.path.startsWith('/alias-target/'));
    expect(targets).toHaveLength(2);
    for (const t of targets) {
      expect(t.headers.host).toBe(`localhost:${server.port}`);
      expect(t.headers.authorization).toBeUndefined();
    }
  });

  it('user:password in the URL: sent to that host only, and never printed', async () => {
    const w = world();
    server.route('/url-creds/app.aci', requireAuth(BASIC, redirect(elsewhere.url('/moved/app.aci'))));
    server.route('/url-creds/app.aci.asc', requireAuth(BASIC, redirect(elsewhere.url('/moved/app.aci.asc'))));
    const url = server.url('/url-creds/app.aci').replace('https://', `https://${USER}:${PASSWORD}@`);
    const r = await w.run(['--debug', 'fetch', url]);
    expect(r.code, r.stderr).toBe(0);
    expect(server.log.map((e) => e.status)).toEqual([302, 302]);
    expect(elsewhere.log.map((e) => e.headers.authorization)).toEqual([undefined, undefined]);
    expectNoSecrets(r);
  });

  it('user:password in the URL is not kept at rest (index database, cas/tmp)', async () => {
    const w = world();
    const url = protect('/url-rest/app.aci', BASIC).replace('https://', `https://${USER}:${PASSWORD}@`);
    await expectFetched(w, await w.run(['fetch', url]), app);
    const files = fs.readdirSync(w.dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.parentPath.includes(`${path.sep}blob`));
    expect(files.length).toBeGreaterThan(0);
    const holding = files.map((f) => path.join(f.parentPath, f.name)).filter((f) => fs.readFileSync(f).includes(PASSWORD));
    expect(holding).toEqual([]);
  });

  it('user:password in the URL, wrong: 401 without the password in the message', async () => {
    const w = world();
    const url = protect('/url-wrong/app.aci', BASIC).replace('https://', `https://${USER}:wrong-password@`);
    for (const flags of [[], ['--debug']]) {
      const r = await w.run([...flags, 'fetch', url]);
      expect(r.code).toBe(254);
      expect(r.stderr).toContain('401');
      expectNoSecrets(r);
    }
  });
});
