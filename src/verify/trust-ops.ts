import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';
import { displayFingerprint, type Fingerprint } from '../spec/fingerprint.js';
import { writeFileAtomic } from '../sys/atomic-write.js';
import { keyFilePath, listTrustedKeys, type KeystoreRoots, type StoredKey } from './keystore.js';
import { parsePublicKeys, type ParsedKey } from './public-key.js';
import { scopeLabel, type TrustScope } from './trust-prefix.js';

/** How a key is shown for review, in rkt's layout (fingerprint on stdout). */
export function reviewText(k: ParsedKey): string {
  const lines = [`gpg key fingerprint is: ${displayFingerprint(k.fingerprint)}`];
  for (const s of k.subkeyFingerprints) lines.push(`\tSubkey fingerprint: ${displayFingerprint(s)}`);
  for (const u of k.userIds) lines.push(`\t${u}`);
  return lines.join('\n') + '\n';
}

export async function readKeyFile(file: string): Promise<ParsedKey[]> {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    throw new CapsuleError('key-file', `reading key file ${JSON.stringify(file)}`, { cause: e });
  }
  return parsePublicKeys(data, JSON.stringify(file));
}

/** Creates `dir` and its missing parents as 0755 whatever the umask: unprivileged fetches must read the keys. */
function mkdirKeyDir(dir: string): void {
  const first = fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (first === undefined) return;
  for (let d = dir; ; d = path.dirname(d)) {
    fs.chmodSync(d, 0o755);
    if (d === first || d === path.dirname(d)) break;
  }
}

/** Writes a key into the local keystore (dirs 0755, file 0644), replacing a mask if there was one. */
export async function storeTrustedKey(roots: KeystoreRoots, scope: TrustScope, k: ParsedKey): Promise<string> {
  const file = keyFilePath(roots.local, scope, k.fingerprint);
  mkdirKeyDir(path.dirname(file));
  await writeFileAtomic(file, k.armored, 0o644);
  return file;
}

export interface TrustEntry {
  prefix: string;
  fingerprint: Fingerprint;
  userIds: string[];
  origin: StoredKey['origin'];
  path: string;
}

export async function listTrust(roots: KeystoreRoots): Promise<TrustEntry[]> {
  const out: TrustEntry[] = [];
  for (const k of listTrustedKeys(roots)) {
    let userIds: string[] = [];
    try {
      userIds = (await parsePublicKeys(fs.readFileSync(k.file), k.file))[0]?.userIds ?? [];
    } catch {
      userIds = ['(unreadable key file)'];
    }
    out.push({ prefix: scopeLabel(k.scope), fingerprint: k.fingerprint, userIds, origin: k.origin, path: k.file });
  }
  return out.sort((a, b) => a.prefix.localeCompare(b.prefix) || a.fingerprint.localeCompare(b.fingerprint));
}

/**
 * Stops trusting a key for a scope: a local key file is removed; a system key is masked by an
 * empty local file of the same name (the system config is the distribution's, not ours to edit).
 */
export async function removeTrust(roots: KeystoreRoots, scope: TrustScope, fp: Fingerprint): Promise<{ action: 'removed' | 'masked'; path: string }> {
  const keys = listTrustedKeys(roots).filter((k) => k.fingerprint === fp && scopeLabel(k.scope) === scopeLabel(scope));
  if (keys.length === 0) throw new CapsuleError('key-not-found', `no key ${fp} is trusted for ${scope.kind === 'root' ? 'all images (root)' : `prefix ${JSON.stringify(scope.prefix)}`}`);
  const local = keys.find((k) => k.origin === 'local');
  if (local) {
    fs.rmSync(local.file);
    if (!keys.some((k) => k.origin === 'system')) return { action: 'removed', path: local.file };
  }
  const maskFile = keyFilePath(roots.local, scope, fp);
  mkdirKeyDir(path.dirname(maskFile));
  await writeFileAtomic(maskFile, '', 0o644);
  return { action: 'masked', path: maskFile };
}
