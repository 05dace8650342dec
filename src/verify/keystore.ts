import { checkTrustedDirs, checkTrustedPath } from '../sys/safe-perms.js';
import fs from 'node:fs';
import path from 'node:path';
import { type Fingerprint, parseFingerprint } from '../spec/fingerprint.js';
import { prefixCovers } from '../spec/ac-identifier.js';
import type { TrustScope } from './trust-prefix.js';

export type KeyOrigin = 'system' | 'local' | 'user';

/** One key file in a trustedkeys directory. Its content is parsed only when needed. */
export interface StoredKey {
  scope: TrustScope;
  fingerprint: Fingerprint;
  origin: KeyOrigin;
  file: string;
}

export interface KeystoreRoots {
  system: string;
  local: string;
}

export function keystoreRoots(systemConfig: string, localConfig: string): KeystoreRoots {
  return { system: path.join(systemConfig, 'trustedkeys'), local: path.join(localConfig, 'trustedkeys') };
}

/** `<root>/root.d/<fp>` or `<root>/prefix.d/<prefix path>/<fp>`. */
export function keyFilePath(root: string, scope: TrustScope, fp: Fingerprint): string {
  return scope.kind === 'root' ? path.join(root, 'root.d', fp) : path.join(root, 'prefix.d', ...scope.prefix.split('/'), fp);
}

function scan(root: string, origin: KeyOrigin): { key: StoredKey; empty: boolean }[] {
  const out: { key: StoredKey; empty: boolean }[] = [];
  const visit = (dir: string, scope: TrustScope, walkSubdirs: boolean, segs: string[], acceptFiles: boolean): void => {
    let ents: fs.Dirent[];
    try {
      ents = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    // From the configuration root (trustedkeys' parent) down: a key anyone else could replace
    // is no trust at all (issue 12 §4).
    checkTrustedDirs(path.dirname(root), dir, 'trusted keys directory');
    for (const e of ents) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && walkSubdirs) {
        const next = [...segs, e.name];
        visit(p, { kind: 'prefix', prefix: next.join('/') }, true, next, true);
      } else if (e.isFile() && acceptFiles) {
        let fp: Fingerprint;
        try {
          fp = parseFingerprint(e.name);
        } catch {
          continue;
        }
        checkTrustedPath(p, 'key', 'trusted key');
        out.push({ key: { scope, fingerprint: fp, origin, file: p }, empty: fs.statSync(p).size === 0 });
      }
    }
  };
  visit(path.join(root, 'root.d'), { kind: 'root' }, false, [], true);
  visit(path.join(root, 'prefix.d'), { kind: 'root' }, true, [], false);
  return out;
}

const scopeKey = (s: TrustScope, fp: string): string => `${s.kind === 'root' ? '/' : s.prefix}\0${fp}`;

/** Every trusted key: system keys unless masked by an empty local file of the same name, then local keys. */
export function listTrustedKeys(roots: KeystoreRoots): StoredKey[] {
  const local = scan(roots.local, 'local');
  const masked = new Set(local.filter((k) => k.empty).map((k) => scopeKey(k.key.scope, k.key.fingerprint)));
  const system = scan(roots.system, 'system').filter((k) => !k.empty && !masked.has(scopeKey(k.key.scope, k.key.fingerprint)));
  return [...system, ...local.filter((k) => !k.empty)].map((k) => k.key);
}

/** Keys trusted for an image name: root keys plus prefixes covering the name segment by segment. */
export function keysForName(keys: StoredKey[], name: string): StoredKey[] {
  return keys.filter((k) => k.scope.kind === 'root' || prefixCovers(k.scope.prefix, name));
}
