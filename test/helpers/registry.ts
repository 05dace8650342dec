import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestCa } from './test-ca.js';

const execFileP = promisify(execFile);

export const REGISTRY_BIN = '/usr/bin/docker-registry';

/** A free TCP port on `host` (the kernel's choice; the tiny race until the server binds is accepted). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

export type RegistryAuthConfig =
  | { kind: 'none' }
  /** htpasswd file made with `htpasswd -Bbn`. */
  | { kind: 'basic'; user: string; password: string }
  /** distribution's token auth: tokens signed by `certFile`'s key (trusted through rootcertbundle). */
  | { kind: 'token'; realm: string; service: string; issuer: string; certFile: string };

export interface RegistryOptions {
  /** TLS with the test CA's server certificate (default) or plain http. */
  tls?: TestCa | undefined;
  auth?: RegistryAuthConfig;
  /** Storage to use (a previous registry's, to serve pushed content with other auth); a fresh temp dir by default. */
  storage?: string;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  port: number;
  scheme: 'https' | 'http';
  storage: string;
  dir: string;
  /** Kills and starts it again on the same port with the same config (files it names are read anew). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Debian's docker-registry (distribution 2.8) on 127.0.0.1 at a free port, with a config this
 * writes: filesystem storage in a temp dir, TLS with the test CA, and the chosen auth. Resolves
 * once `/v2/` answers. `stop()` kills it and removes its temp dir (not a storage passed in).
 */
export async function startRegistry(o: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-or-registry-'));
  const storage = o.storage ?? path.join(dir, 'storage');
  fs.mkdirSync(storage, { recursive: true });
  const port = await freePort();
  const auth = o.auth ?? { kind: 'none' };
  const lines = ['version: 0.1', 'log:', '  level: warn', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${storage}`, '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`, '  secret: capsule-test-secret'];
  if (o.tls) lines.push('  tls:', `    certificate: ${o.tls.server.certFile}`, `    key: ${o.tls.server.keyFile}`);
  if (auth.kind === 'basic') {
    const { stdout } = await execFileP('htpasswd', ['-Bbn', auth.user, auth.password]);
    fs.writeFileSync(path.join(dir, 'htpasswd'), stdout);
    lines.push('auth:', '  htpasswd:', '    realm: capsule-test', `    path: ${path.join(dir, 'htpasswd')}`);
  } else if (auth.kind === 'token') {
    lines.push('auth:', '  token:', `    realm: ${auth.realm}`, `    service: ${auth.service}`, `    issuer: ${auth.issuer}`, `    rootcertbundle: ${auth.certFile}`);
  }
  const configFile = path.join(dir, 'config.yml');
  fs.writeFileSync(configFile, lines.join('\n') + '\n');
  const logFile = path.join(dir, 'registry.log');
  const launch = (): ChildProcess => {
    const log = fs.openSync(logFile, 'a');
    const c = spawn(REGISTRY_BIN, ['serve', configFile], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    return c;
  };
  let child = launch();
  const scheme = o.tls ? 'https' : 'http';
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
  };
  const stop = async (): Promise<void> => {
    await kill();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const restart = async (): Promise<void> => {
    await kill();
    child = launch();
    await waitForPort(port, child, logFile);
  };
  try {
    await waitForPort(port, child, logFile);
  } catch (e) {
    await stop();
    throw e;
  }
  return { host: `127.0.0.1:${port}`, port, scheme, storage, dir, restart, stop };
}

async function waitForPort(port: number, child: ChildProcess, logFile: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not listen on port ${port}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
}

export interface PushOptions {
  /** `--format v2s2` (Docker schema2 media types) instead of keeping OCI's. */
  dockerFormat?: boolean;
  /** `--all`: the whole index, every platform. */
  all?: boolean;
  creds?: { user: string; password: string };
  /** `--sign-by FINGERPRINT` with this GnuPG home (signatures go to the registries.d lookaside). */
  signBy?: { fingerprint: string; gnupgHome: string; registriesD: string };
}

/** `skopeo copy SRC docker://HOST/NAME` (TLS not verified for the push: the test's own registry). */
export async function skopeoPush(src: string, dest: string, o: PushOptions = {}): Promise<void> {
  const args = ['copy', '--quiet', '--dest-tls-verify=false', ...(o.dockerFormat ? ['--format', 'v2s2'] : []), ...(o.all ? ['--all'] : []), ...(o.creds ? ['--dest-creds', `${o.creds.user}:${o.creds.password}`] : [])];
  if (o.signBy) args.push('--sign-by', o.signBy.fingerprint, '--registries.d', o.signBy.registriesD);
  args.push(src, `docker://${dest}`);
  // skopeo's own policy: accept anything (what it pushes is the test's).
  const policy = path.join(os.tmpdir(), 'capsule-or-skopeo-policy.json');
  if (!fs.existsSync(policy)) fs.writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  await execFileP('skopeo', ['--policy', policy, ...args], { env: { ...process.env, ...(o.signBy ? { GNUPGHOME: o.signBy.gnupgHome } : {}) }, maxBuffer: 16 * 1024 * 1024 });
}
