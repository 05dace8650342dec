import { CapsuleError } from '../../errors/capsule-error.js';

/**
 * The stage1 helper's plan file (docs/stage1-contract.md, "The nspawn flavour"): every key and
 * every value as a NUL-terminated string, taken in pairs. Repeated keys append; order matters.
 */
export function encodePlan(entries: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of entries) {
    for (const s of [key, value]) {
      if (s.includes('\0')) throw new CapsuleError('stage1-plan', `plan entry ${JSON.stringify(key)}: ${s === key ? 'key' : 'value'} contains a NUL byte`);
      parts.push(Buffer.from(s, 'utf8'), Buffer.alloc(1));
    }
  }
  return Buffer.concat(parts);
}

/** The entries of a plan file; the inverse of `encodePlan` (tests, debugging). */
export function decodePlan(buf: Buffer): Array<[string, string]> {
  if (buf.length === 0) return [];
  if (buf[buf.length - 1] !== 0) throw new CapsuleError('stage1-plan', 'plan: the last string is not NUL-terminated');
  const strings = buf.subarray(0, buf.length - 1).toString('utf8').split('\0');
  if (strings.length % 2 !== 0) throw new CapsuleError('stage1-plan', `plan: key ${JSON.stringify(strings[strings.length - 1])} has no value`);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < strings.length; i += 2) out.push([strings[i] ?? '', strings[i + 1] ?? '']);
  return out;
}
