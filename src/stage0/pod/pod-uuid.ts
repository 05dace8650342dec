import { randomUUID } from 'node:crypto';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';

/** A fresh pod UUID: random (version 4), lower case, with dashes. */
export function newPodUuid(): string {
  return randomUUID().toLowerCase();
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for a well-formed pod directory name; anything else under pods/ is ignored. */
export function isPodUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/**
 * rkt's UUID arguments: any unique prefix, case-insensitive. `names` are the pods that exist
 * (duplicates, e.g. seen twice during a rename, count once).
 */
export function matchUuid(names: Iterable<string>, arg: string): string {
  const p = arg.trim().toLowerCase();
  if (p === '') throw new UsageError('UUID cannot be empty');
  const hits = new Set<string>();
  for (const n of names) if (n.startsWith(p)) hits.add(n);
  const [only, ...more] = hits;
  if (only === undefined) throw new CapsuleError('pod-not-found', `no matches found for ${JSON.stringify(arg)}`);
  if (more.length > 0) throw new CapsuleError('ambiguous-uuid', `ambiguous uuid, ${hits.size} matches`);
  return only;
}
