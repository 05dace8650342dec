import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type TestServer } from './https-server.js';
import type { TestCa } from './test-ca.js';

export const TOKEN_SERVICE = 'capsule-test-registry';
export const TOKEN_ISSUER = 'capsule-test-issuer';

export interface TokenServerBehaviour {
  /** Answer field for the token (distribution's spec allows either). */
  field: 'token' | 'access_token' | 'both';
  /** Seconds the registry accepts the token (the JWT's exp) and the answer's expires_in. */
  lifetime: number;
  /** What `expires_in` says (default: lifetime); a server may claim longer than the JWT lives. */
  claimedLifetime?: number;
  /** Basic credentials required for any token; anonymous pulls otherwise. */
  require?: { user: string; password: string };
  /** Answer with this body instead of a token (hostile token servers). */
  garbage?: string;
}

export interface TokenServer {
  server: TestServer;
  realm: string;
  /** PEM of the certificate whose key signs the tokens (the registry's rootcertbundle). */
  certFile: string;
  behaviour: TokenServerBehaviour;
  /** Tokens issued so far. */
  issued: number;
  /** A new signing key and certificate in `certFile` (restart the registry to trust only it). */
  rotateKey(): void;
  close(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/**
 * A token server for distribution's `auth: token` (docs/spec/auth/jwt.md): ES256 JWTs whose `x5c`
 * header carries a self-signed certificate the registry trusts via `rootcertbundle`, granting the
 * scopes asked for (pull and push) to anyone, or to the `require`d user only.
 */
export async function startTokenServer(ca: TestCa, behaviour: TokenServerBehaviour): Promise<TokenServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-or-token-'));
  const certFile = path.join(dir, 'token.pem');
  let key!: crypto.KeyObject;
  let der!: Buffer;
  const newKey = (): void => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'token.key', '-out', 'token.pem', '-days', '30', '-subj', '/CN=capsule-test-token'], { cwd: dir, stdio: 'ignore' });
    key = crypto.createPrivateKey(fs.readFileSync(path.join(dir, 'token.key')));
    der = new crypto.X509Certificate(fs.readFileSync(certFile)).raw;
  };
  newKey();
  const server = await startServer({ tls: ca.server });
  const self: TokenServer = {
    server,
    realm: server.url('/token'),
    certFile,
    behaviour,
    issued: 0,
    rotateKey: newKey,
    close: async () => {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  server.route('/token', (req, res) => {
    const b = self.behaviour;
    if (b.require) {
      const want = `Basic ${Buffer.from(`${b.require.user}:${b.require.password}`).toString('base64')}`;
      if (req.headers.authorization !== want) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
    }
    if (b.garbage !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(b.garbage);
      return;
    }
    const u = new URL(req.url ?? '/', 'https://x');
    const access = u.searchParams.getAll('scope').map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop() ?? '';
      return { type, name: rest.join(':'), actions: actions.split(',').filter((a) => a === 'pull' || a === 'push') };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [der.toString('base64')] };
    const claims = { iss: TOKEN_ISSUER, sub: b.require?.user ?? '', aud: u.searchParams.get('service') ?? '', exp: now + b.lifetime, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${b64url(sig)}`;
    self.issued++;
    const body: Record<string, unknown> = { expires_in: b.claimedLifetime ?? b.lifetime, issued_at: new Date().toISOString() };
    if (b.field !== 'access_token') body.token = token;
    if (b.field !== 'token') body.access_token = token;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  return self;
}
