import { checkTrustedDirs, checkTrustedPath } from '../sys/safe-perms.js';
import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';

/**
 * Credentials from rkt's `auth.d/*.json` files (rkt Documentation/configuration.md):
 *   {"rktKind":"auth","rktVersion":"v1","domains":[…],"type":"basic","credentials":{"user","password"}}
 *   {"rktKind":"auth","rktVersion":"v1","domains":[…],"type":"oauth","credentials":{"token"}}
 *   {"rktKind":"dockerAuth","rktVersion":"v1","registries":[…],"credentials":{"user","password"}}
 * Directories are read in precedence order (system < local < user): a later directory replaces an
 * earlier one's entry for the same domain or registry; the same domain twice within one directory
 * is an error. Only `*.json` regular files directly inside `auth.d/` are read.
 * Secrets never appear in messages: errors name the file and the field, not values.
 */

export interface BasicCredentials {
  user: string;
  password: string;
}

export interface AuthConfig {
  /** Headers to send to `host` (a host name, optionally `host:port`); empty when none are configured. */
  headersFor(host: string): Record<string, string>;
  /** Basic credentials for a Docker registry host, if configured. */
  dockerCredentials(registry: string): BasicCredentials | undefined;
}

interface Entry<T> {
  value: T;
  file: string;
}

/** `loadAuth([system, local, user])`: each is a configuration directory holding `auth.d/`. */
export function loadAuth(configDirs: readonly string[]): AuthConfig {
  const headers = new Map<string, Record<string, string>>();
  const docker = new Map<string, BasicCredentials>();
  for (const dir of configDirs) {
    const level = readAuthDir(path.join(dir, 'auth.d'), dir);
    for (const [domain, e] of level.headers) headers.set(domain, e.value);
    for (const [registry, e] of level.docker) docker.set(registry, e.value);
  }
  return {
    headersFor(host) {
      const h = host.toLowerCase();
      const found = headers.get(h) ?? headers.get(withoutPort(h));
      return found ? { ...found } : {};
    },
    dockerCredentials(registry) {
      const r = registry.toLowerCase();
      const found = docker.get(r) ?? docker.get(withoutPort(r));
      return found ? { ...found } : undefined;
    },
  };
}

function withoutPort(host: string): string {
  if (host.startsWith('[')) return host.replace(/\]:\d+$/, ']');
  return host.replace(/:\d+$/, '');
}

interface DirAuth {
  headers: Map<string, Entry<Record<string, string>>>;
  docker: Map<string, Entry<BasicCredentials>>;
  /** What `capsule config` shows per domain (`auth:<domain>`) or registry (`dockerAuth:<registry>`). */
  views: Map<string, AuthView>;
}

/** One `auth.d` entry as `capsule config` prints it (rkt's shape, one domain or registry each), secrets redacted. */
export interface AuthView {
  rktVersion: 'v1';
  rktKind: 'auth' | 'dockerAuth';
  domains?: string[];
  registries?: string[];
  type?: string;
  credentials: Record<string, string>;
}

export const REDACTED = '<redacted>';

/**
 * The merged auth configuration of `configDirs` (system < local < user, as loadAuth merges it):
 * `auth` entries sorted by domain, then `dockerAuth` entries by registry. Passwords and tokens are
 * replaced by REDACTED; user names stay (they say which account is used).
 */
export function authConfigView(configDirs: readonly string[]): AuthView[] {
  const merged = new Map<string, AuthView>();
  for (const dir of configDirs) for (const [k, v] of readAuthDir(path.join(dir, 'auth.d')).views) merged.set(k, v);
  const order = (k: string): string => (k.startsWith('auth:') ? `0${k}` : `1${k}`);
  return [...merged.entries()].sort(([a], [b]) => (order(a) < order(b) ? -1 : 1)).map(([, v]) => v);
}

function readAuthDir(authDir: string, configRoot: string = path.dirname(authDir)): DirAuth {
  const out: DirAuth = { headers: new Map(), docker: new Map(), views: new Map() };
  if (fs.existsSync(authDir)) checkTrustedDirs(configRoot, authDir, 'credentials directory');
  let ents: fs.Dirent[];
  try {
    ents = fs.readdirSync(authDir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return out;
    throw new CapsuleError('auth-config', `reading ${authDir}`, { cause: e });
  }
  for (const ent of ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!ent.name.endsWith('.json')) continue;
    const file = path.join(authDir, ent.name);
    if (!ent.isFile() && !(ent.isSymbolicLink() && isFile(file))) continue;
    checkTrustedPath(file, 'secret', 'credentials file');
    parseAuthFile(file, out);
  }
  return out;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The problem with one file; `field` is a JSON path such as `credentials.user`. */
function bad(file: string, problem: string): CapsuleError {
  return new CapsuleError('auth-config', `${file}: ${problem}`);
}

function parseAuthFile(file: string, into: DirAuth): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CapsuleError('auth-config', `reading ${file}`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    // V8's message may quote the file's text (a password): report the position only.
    throw bad(file, `invalid JSON${jsonPosition(e, text)}`);
  }
  if (!isObject(doc)) throw bad(file, 'expected a JSON object');
  const kind = doc.rktKind;
  const version = doc.rktVersion;
  if (typeof kind !== 'string') throw bad(file, 'rktKind: must be a string ("auth" or "dockerAuth")');
  if (kind !== 'auth' && kind !== 'dockerAuth') throw bad(file, `rktKind: unknown kind ${JSON.stringify(kind)} (expected "auth" or "dockerAuth")`);
  if (version !== 'v1') throw bad(file, `rktVersion: unsupported version ${JSON.stringify(version)} for kind ${JSON.stringify(kind)} (expected "v1")`);
  if (kind === 'auth') {
    const domains = stringList(file, doc, 'domains');
    const h = authHeaders(file, doc);
    const credentials: Record<string, string> = doc.type === 'basic' ? { user: basicCredentials(file, doc).user, password: REDACTED } : { token: REDACTED };
    for (const d of domains) {
      claim(into.headers, d, { value: h, file }, 'domain');
      into.views.set(`auth:${d.toLowerCase()}`, { rktVersion: 'v1', rktKind: 'auth', domains: [d], type: String(doc.type), credentials });
    }
  } else {
    const registries = stringList(file, doc, 'registries');
    const creds = basicCredentials(file, doc);
    for (const r of registries) {
      claim(into.docker, r, { value: creds, file }, 'registry');
      into.views.set(`dockerAuth:${r.toLowerCase()}`, { rktVersion: 'v1', rktKind: 'dockerAuth', registries: [r], credentials: { user: creds.user, password: REDACTED } });
    }
  }
}

function claim<T>(map: Map<string, Entry<T>>, rawKey: string, e: Entry<T>, what: string): void {
  const key = rawKey.toLowerCase();
  const prev = map.get(key);
  if (prev) {
    const where = prev.file === e.file ? `twice in ${e.file}` : `in both ${prev.file} and ${e.file}`;
    throw new CapsuleError('auth-config', `auth for ${what} ${JSON.stringify(rawKey)} is specified ${where}`);
  }
  map.set(key, e);
}

function stringList(file: string, doc: Record<string, unknown>, field: string): string[] {
  const v = doc[field];
  if (!Array.isArray(v) || v.length === 0) throw bad(file, `${field}: must be a non-empty list of host names`);
  return v.map((d, i) => {
    if (typeof d !== 'string' || d.trim() === '') throw bad(file, `${field}[${i}]: must be a non-empty string`);
    if (/[\s/]/.test(d)) throw bad(file, `${field}[${i}]: ${JSON.stringify(d)} is not a host name (no scheme or path)`);
    return d;
  });
}

function authHeaders(file: string, doc: Record<string, unknown>): Record<string, string> {
  const type = doc.type;
  if (type === 'basic') {
    const c = basicCredentials(file, doc);
    return { authorization: `Basic ${Buffer.from(`${c.user}:${c.password}`, 'utf8').toString('base64')}` };
  }
  if (type === 'oauth') {
    const creds = credentialsObject(file, doc);
    const token = creds.token;
    if (typeof token !== 'string' || token === '') throw bad(file, 'credentials.token: must be a non-empty string');
    // A line break would let the value add headers of its own.
    if (/[\s\p{Cc}]/u.test(token)) throw bad(file, 'credentials.token: must not contain white space or control characters');
    return { authorization: `Bearer ${token}` };
  }
  if (type === 'aws') throw bad(file, 'type: "aws" (AWS v4 request signing) is not supported');
  throw bad(file, `type: ${typeof type === 'string' ? `unknown type ${JSON.stringify(type)}` : 'must be a string'} (expected "basic" or "oauth")`);
}

function credentialsObject(file: string, doc: Record<string, unknown>): Record<string, unknown> {
  const c = doc.credentials;
  if (!isObject(c)) throw bad(file, 'credentials: must be an object');
  return c;
}

function basicCredentials(file: string, doc: Record<string, unknown>): BasicCredentials {
  const c = credentialsObject(file, doc);
  const { user, password } = c;
  if (typeof user !== 'string' || user === '') throw bad(file, 'credentials.user: must be a non-empty string');
  if (user.includes(':')) throw bad(file, 'credentials.user: must not contain ":" (RFC 7617)');
  if (typeof password !== 'string') throw bad(file, 'credentials.password: must be a string');
  if (/\p{Cc}/u.test(user)) throw bad(file, 'credentials.user: must not contain control characters');
  if (/\p{Cc}/u.test(password)) throw bad(file, 'credentials.password: must not contain control characters');
  return { user, password };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** ` at line L column C` from V8's "at position N" (when it says so), never the text itself. */
function jsonPosition(e: unknown, text: string): string {
  const m = e instanceof Error ? /position (\d+)/.exec(e.message) : null;
  if (!m) return '';
  const pos = Number(m[1]);
  const before = text.slice(0, pos).split('\n');
  return ` at line ${before.length} column ${(before[before.length - 1] ?? '').length + 1}`;
}
