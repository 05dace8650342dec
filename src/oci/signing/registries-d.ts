import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../../errors/capsule-error.js';
import type { OciReference } from '../reference.js';

/**
 * Where simple-signing signatures are looked up, from `<config>/registries.d/*.yaml` in
 * containers-registries.d(5)'s format, so one file serves skopeo, podman and Capsule:
 *   default-docker:
 *     lookaside: https://sigs.example.com/sigs
 *   docker:
 *     registry.example.com/team:
 *       lookaside: file:///var/lib/containers/sigstore
 *       lookaside-staging: file:///srv/sigs   # where skopeo writes; Capsule never reads it
 * `sigstore` / `sigstore-staging` are the older spellings of the same keys. A scope is
 * `host[:port]` or `host[:port]/namespace…`; the longest scope that covers the image's
 * `registry/repository` segment by segment wins, then `default-docker`. Directories are read
 * system < local < user: a later one's entry for a scope replaces an earlier one's; one scope in
 * two files of one directory is an error (containers says so too).
 */
export interface LookasideEntry {
  /** The base URL (`file://` or `https://`, `http://` only with --insecure-options=http at fetch time). */
  lookaside: string | undefined;
  /** The file that said so, for messages. */
  file: string;
}

export interface RegistriesD {
  defaultDocker: LookasideEntry | undefined;
  docker: ReadonlyMap<string, LookasideEntry>;
}

const ENTRY_KEYS = new Set(['lookaside', 'sigstore', 'lookaside-staging', 'sigstore-staging', 'use-sigstore-attachments']);
const TOP_KEYS = new Set(['default-docker', 'docker']);

const bad = (file: string, why: string): CapsuleError => new CapsuleError('registries-config', `${file}: ${why}`);

function entry(file: string, where: string, v: unknown): LookasideEntry {
  if (v === null || v === undefined) return { lookaside: undefined, file };
  if (typeof v !== 'object' || Array.isArray(v)) throw bad(file, `${where}: must be a mapping`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!ENTRY_KEYS.has(k)) throw bad(file, `${where}: unknown key ${JSON.stringify(k)} (known: ${[...ENTRY_KEYS].join(', ')})`);
  if (o.lookaside !== undefined && o.sigstore !== undefined) throw bad(file, `${where}: both "lookaside" and its older name "sigstore" are set`);
  const url = o.lookaside ?? o.sigstore;
  for (const k of ['lookaside-staging', 'sigstore-staging'] as const) if (o[k] !== undefined && typeof o[k] !== 'string') throw bad(file, `${where}.${k}: must be a URL`);
  if (o['use-sigstore-attachments'] !== undefined && typeof o['use-sigstore-attachments'] !== 'boolean') throw bad(file, `${where}.use-sigstore-attachments: must be true or false`);
  if (url === undefined) return { lookaside: undefined, file };
  if (typeof url !== 'string') throw bad(file, `${where}.lookaside: must be a URL`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad(file, `${where}.lookaside: ${JSON.stringify(url)} is not a URL`);
  }
  if (!['file:', 'https:', 'http:'].includes(u.protocol)) throw bad(file, `${where}.lookaside: ${u.protocol} URLs are not supported (file://, https://)`);
  return { lookaside: url.replace(/\/+$/, ''), file };
}

function scopeOk(s: string): boolean {
  return /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?(?:\/[a-z0-9._-]+)*$/.test(s);
}

/** Parses one directory's worth of YAML files into `into` (errors name the file). */
async function readDir(dir: string, into: { defaultDocker?: LookasideEntry; docker: Map<string, LookasideEntry> }): Promise<void> {
  let names: string[];
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'))
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
    throw new CapsuleError('registries-config', `reading ${dir}`, { cause: e });
  }
  const { parseDocument } = await import('yaml');
  for (const n of names) {
    const file = path.join(dir, n);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new CapsuleError('registries-config', `reading ${file}`, { cause: e });
    }
    // Duplicate keys are errors (yaml's default); the first error is reported with its line.
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
    if (doc.errors.length > 0) throw bad(file, `invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    const v = doc.toJS() as unknown;
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object' || Array.isArray(v)) throw bad(file, 'expected a mapping at the top level');
    const top = v as Record<string, unknown>;
    for (const k of Object.keys(top)) if (!TOP_KEYS.has(k)) throw bad(file, `unknown key ${JSON.stringify(k)} (known: default-docker, docker)`);
    if (top['default-docker'] !== undefined) {
      if (into.defaultDocker) throw bad(file, `default-docker is also set in ${into.defaultDocker.file}`);
      into.defaultDocker = entry(file, 'default-docker', top['default-docker']);
    }
    const docker = top.docker;
    if (docker === undefined || docker === null) continue;
    if (typeof docker !== 'object' || Array.isArray(docker)) throw bad(file, 'docker: must be a mapping of scopes');
    for (const [scope, e] of Object.entries(docker as Record<string, unknown>)) {
      const s = scope.toLowerCase();
      if (!scopeOk(s)) throw bad(file, `docker: ${JSON.stringify(scope)} is not a scope (host[:port][/namespace…])`);
      const prev = into.docker.get(s);
      if (prev) throw bad(file, `docker: scope ${JSON.stringify(scope)} is also set in ${prev.file}`);
      into.docker.set(s, entry(file, `docker.${scope}`, e));
    }
  }
}

/** Reads `registries.d/` of each configuration directory, in precedence order. */
export async function loadRegistriesD(configDirs: readonly string[]): Promise<RegistriesD> {
  let defaultDocker: LookasideEntry | undefined;
  const docker = new Map<string, LookasideEntry>();
  for (const dir of configDirs) {
    const level: { defaultDocker?: LookasideEntry; docker: Map<string, LookasideEntry> } = { docker: new Map() };
    await readDir(path.join(dir, 'registries.d'), level);
    if (level.defaultDocker) defaultDocker = level.defaultDocker;
    for (const [s, e] of level.docker) docker.set(s, e);
  }
  return { defaultDocker, docker };
}

/** The lookaside base for an image: the most specific scope covering `registry/repository`, else default-docker. */
export function lookasideFor(c: RegistriesD, ref: OciReference): LookasideEntry | undefined {
  const segs = `${ref.registry}/${ref.repository}`.split('/');
  for (let n = segs.length; n >= 1; n--) {
    const hit = c.docker.get(segs.slice(0, n).join('/'));
    if (hit) return hit;
  }
  return c.defaultDocker;
}
