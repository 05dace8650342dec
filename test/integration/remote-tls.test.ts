/**
 * Certificate checks for `capsule fetch https://…`: the test CA is trusted only where the user
 * put it (NODE_EXTRA_CA_CERTS, `<config>/tls.d/*.pem` at the system, local or user level);
 * self-signed, wrong-host and expired certificates are refused; `--insecure-options=tls` accepts
 * anything, says so, and still checks the signature.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { startServer, type TestServer } from '../helpers/https-server.js';
import { testCa, type CertPair, type TestCa } from '../helpers/test-ca.js';
import { expectFetched, expectFetchFailed, remoteWorld, serveImage, signedImage, SIGNER_UID, type SignedImage } from './remote-fixtures.js';

let ca: TestCa;
let gpg: GpgHome;
let fpr: string;
let scratch: string;
let app: SignedImage;
let other: SignedImage;
const servers: Record<'good' | 'selfSigned' | 'wrongHost' | 'expired', TestServer> = {} as never;
const worlds: World[] = [];

/** A world that trusts the signing key but not, unless `trustCa`, the test CA. */
function world(trustCa = false): World {
  const w = remoteWorld(ca, gpg, fpr, { trustCa });
  worlds.push(w);
  return w;
}

const url = (s: TestServer): string => s.url('/app.aci');

beforeAll(async () => {
  ca = testCa();
  gpg = makeGpgHome();
  fpr = gpg.genKey(SIGNER_UID);
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-tls-'));
  app = signedImage(gpg, scratch, fpr, 'example.com/remote/tls', [{ path: 'rootfs/t', body: 'tls\n' }]);
  other = signedImage(gpg, scratch, fpr, 'example.com/remote/tls-other');
  const certs: [keyof typeof servers, CertPair][] = [
    ['good', ca.server],
    ['selfSigned', ca.selfSigned],
    ['wrongHost', ca.wrongHost],
    ['expired', ca.expired],
  ];
  for (const [k, cert] of certs) {
    servers[k] = await startServer({ tls: cert });
    serveImage(servers[k], '/app.aci', app);
  }
});

afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
  for (const s of Object.values(servers)) s.log.length = 0;
});

afterAll(async () => {
  for (const s of Object.values(servers)) await s.close();
  gpg.cleanup();
  ca.cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('which CAs are trusted', () => {
  it('a certificate from an unknown CA is refused before any HTTP request', async () => {
    const w = world();
    const r = await w.run(['fetch', url(servers.good)]);
    await expectFetchFailed(w, r, /certificate/i);
    expect(servers.good.log).toEqual([]);
  });

  it('NODE_EXTRA_CA_CERTS adds the CA', async () => {
    const w = world();
    const r = await w.run(['fetch', url(servers.good)], { env: { NODE_EXTRA_CA_CERTS: ca.ca.certFile } });
    await expectFetched(w, r, app);
  });

  for (const level of ['system', 'local', 'user'] as const) {
    it(`<${level}-config>/tls.d/ca.pem adds the CA`, async () => {
      const w = world();
      const dir = { system: w.systemConfig, local: w.localConfig, user: path.join(w.base, 'user-config') }[level];
      fs.mkdirSync(path.join(dir, 'tls.d'), { recursive: true });
      fs.copyFileSync(ca.ca.certFile, path.join(dir, 'tls.d', 'ca.pem'));
      const r = await w.run([`--user-config=${path.join(w.base, 'user-config')}`, 'fetch', url(servers.good)]);
      await expectFetched(w, r, app);
    });
  }

  it('only *.pem files in tls.d count (ca.crt is ignored)', async () => {
    const w = world();
    fs.mkdirSync(path.join(w.localConfig, 'tls.d'), { recursive: true });
    fs.copyFileSync(ca.ca.certFile, path.join(w.localConfig, 'tls.d', 'ca.crt'));
    const r = await w.run(['fetch', url(servers.good)]);
    await expectFetchFailed(w, r, /certificate/i);
  });

  it('NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment does not turn verification off', async () => {
    const w = world();
    const r = await w.run(['fetch', url(servers.selfSigned)], { env: { NODE_TLS_REJECT_UNAUTHORIZED: '0' } });
    // Node itself warns that the variable is set (two lines); capsule's own output is the one error line.
    const ours = errorLines(r).filter((l) => !/^\(node:\d+\) Warning: Setting the NODE_TLS_REJECT_UNAUTHORIZED|^\(Use `node --trace-warnings/.test(l));
    await expectFetchFailed(w, { ...r, stderr: ours.join('\n') }, /self-signed certificate/i);
    expect(servers.selfSigned.log).toEqual([]);
  });
});

describe('bad certificates, with the test CA trusted', () => {
  it('self-signed', async () => {
    const w = world(true);
    await expectFetchFailed(w, await w.run(['fetch', url(servers.selfSigned)]), /self[- ]signed/i);
  });

  it('issued for another host name', async () => {
    const w = world(true);
    await expectFetchFailed(w, await w.run(['fetch', url(servers.wrongHost)]), /altnames|does not match|hostname|certificate/i);
    expect(servers.wrongHost.log).toEqual([]);
  });

  it('expired', async () => {
    const w = world(true);
    await expectFetchFailed(w, await w.run(['fetch', url(servers.expired)]), /expired/i);
  });
});

describe('--insecure-options=tls', () => {
  for (const k of ['selfSigned', 'wrongHost', 'expired'] as const) {
    it(`accepts the ${k} certificate and warns once`, async () => {
      const w = world();
      const r = await w.run(['--insecure-options=tls', 'fetch', url(servers[k])]);
      await expectFetched(w, r, app);
      expect(errorLines(r).filter((l) => l.includes('TLS verification has been disabled'))).toEqual(['fetch: warning: TLS verification has been disabled']);
    });
  }

  it('does not turn off signature verification', async () => {
    const w = world();
    serveImage(servers.selfSigned, '/swapped.aci', { ...app, asc: other.asc });
    const r = await w.run(['--insecure-options=tls', 'fetch', servers.selfSigned.url('/swapped.aci')]);
    const lines = errorLines(r);
    expect(lines[0]).toBe('fetch: warning: TLS verification has been disabled');
    await expectFetchFailed(w, { ...r, stderr: lines.slice(1).join('\n') }, /signature/i);
  });

  it('does not allow plain http', async () => {
    const w = world();
    const r = await w.run(['--insecure-options=tls', 'fetch', url(servers.good).replace('https:', 'http:')]);
    const lines = errorLines(r).filter((l) => !l.includes('TLS verification has been disabled'));
    await expectFetchFailed(w, { ...r, stderr: lines.join('\n') }, /plain http/);
  });
});
