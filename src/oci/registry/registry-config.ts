import { checkTrustedDirs, checkTrustedPath } from '../../sys/safe-perms.js';
import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../../errors/capsule-error.js';
import { DOCKER_HUB } from '../reference.js';

/**
 * Where docker:// names go, from `<config>/docker.d/*.json` (rkt's config style, beside auth.d's
 * `dockerAuth` files):
 *   {"rktKind":"dockerRegistries","rktVersion":"v1",
 *    "defaultRegistry":"registry.example.com",
 *    "mirrors":{"docker.io":["mirror.example.com:5000"]}}
 * `defaultRegistry` replaces Docker Hub for names without a registry; `mirrors` lists hosts tried
 * in order before the registry itself (containers' registries.conf `mirror`). Both are optional.
 * Directories are read system < local < user: a later directory's `defaultRegistry` and a later
 * directory's mirror list for a registry replace an earlier one's; within one directory a key given
 * by two files is an error. A mirror changes only where bytes come from: images keep the name
 * that was asked for, and signatures must name it.
 */
export interface RegistryConfig {
  defaultRegistry: string;
  /** registry (`host[:port]`, lower case) → mirror hosts, in order. */
  mirrors: ReadonlyMap<string, readonly string[]>;
}

const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/;
const KNOWN = new Set(['rktKind', 'rktVersion', 'defaultRegistry', 'mirrors']);

const bad = (file: string, why: string): CapsuleError => new CapsuleError('registry-config', `${file}: ${why}`);

function host(file: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || !HOST.test(v.toLowerCase())) throw bad(file, `${field}: must be a registry host name with an optional port (no scheme or path)`);
  return v.toLowerCase();
}

interface Level {
  defaultRegistry?: { value: string; file: string };
  mirrors: Map<string, { value: string[]; file: string }>;
}

function parseFile(file: string, level: Level): void {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CapsuleError('registry-config', `reading ${file}`, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad(file, 'expected a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.rktKind !== 'dockerRegistries') throw bad(file, `rktKind: expected "dockerRegistries", got ${JSON.stringify(d.rktKind)}`);
  if (d.rktVersion !== 'v1') throw bad(file, `rktVersion: unsupported version ${JSON.stringify(d.rktVersion)} (expected "v1")`);
  for (const k of Object.keys(d)) if (!KNOWN.has(k)) throw bad(file, `unknown key ${JSON.stringify(k)} (known: ${[...KNOWN].join(', ')})`);
  if (d.defaultRegistry !== undefined) {
    const v = host(file, 'defaultRegistry', d.defaultRegistry);
    if (level.defaultRegistry) throw bad(file, `defaultRegistry is also set in ${level.defaultRegistry.file}`);
    level.defaultRegistry = { value: v, file };
  }
  if (d.mirrors !== undefined) {
    if (typeof d.mirrors !== 'object' || d.mirrors === null || Array.isArray(d.mirrors)) throw bad(file, 'mirrors: must be an object of registry → list of mirror hosts');
    for (const [reg, list] of Object.entries(d.mirrors as Record<string, unknown>)) {
      const r = host(file, `mirrors key ${JSON.stringify(reg)}`, reg);
      if (!Array.isArray(list)) throw bad(file, `mirrors.${reg}: must be a list of hosts`);
      const hosts = list.map((m, i) => host(file, `mirrors.${reg}[${i}]`, m));
      const prev = level.mirrors.get(r);
      if (prev) throw bad(file, `mirrors for ${r} are also set in ${prev.file}`);
      level.mirrors.set(r, { value: hosts, file });
    }
  }
}

/** Reads `docker.d/` in each configuration directory (precedence order; missing directories are fine). */
export function loadRegistryConfig(configDirs: readonly string[]): RegistryConfig {
  let defaultRegistry = DOCKER_HUB;
  const mirrors = new Map<string, readonly string[]>();
  for (const dir of configDirs) {
    const d = path.join(dir, 'docker.d');
    let names: string[];
    try {
      names = fs.readdirSync(d).filter((n) => n.endsWith('.json')).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
      throw new CapsuleError('registry-config', `reading ${d}`, { cause: e });
    }
    // Mirrors and the default registry decide where images come from: nobody but root and the
    // invoking user may change them (issue 12 §4). Nothing here is secret.
    checkTrustedDirs(dir, d, 'registry configuration directory');
    const level: Level = { mirrors: new Map() };
    for (const n of names) {
      checkTrustedPath(path.join(d, n), 'key', 'registry configuration file');
      parseFile(path.join(d, n), level);
    }
    if (level.defaultRegistry) defaultRegistry = level.defaultRegistry.value;
    for (const [r, m] of level.mirrors) mirrors.set(r, m.value);
  }
  return { defaultRegistry, mirrors };
}
