import { CapsuleError } from '../errors/capsule-error.js';
import { type AcIdentifier, parseAcIdentifier } from './ac-identifier.js';
import { validateOsArch } from './os-arch.js';

/** `name[:version][,label=value…]` as typed on a command line. */
export interface NameRef {
  name: AcIdentifier;
  labels: Record<string, string>;
}

export function parseNameRef(s: string): NameRef {
  const [head = '', ...rest] = s.split(',');
  const colon = head.indexOf(':');
  const name = parseAcIdentifier(colon >= 0 ? head.slice(0, colon) : head, 'image name');
  const labels: Record<string, string> = {};
  if (colon >= 0) {
    const v = head.slice(colon + 1);
    if (v === '') throw new CapsuleError('invalid-name', `empty version in ${JSON.stringify(s)}`);
    labels.version = v;
  }
  for (const kv of rest) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new CapsuleError('invalid-name', `bad label ${JSON.stringify(kv)} in ${JSON.stringify(s)} (want label=value)`);
    const k = parseAcIdentifier(kv.slice(0, eq), 'label name');
    if (k === 'name') throw new CapsuleError('invalid-name', 'invalid label name: "name"');
    if (labels[k] !== undefined) throw new CapsuleError('invalid-name', `duplicate label ${JSON.stringify(k)} in ${JSON.stringify(s)}`);
    labels[k] = kv.slice(eq + 1);
  }
  validateOsArch(labels.os, labels.arch);
  return { name, labels };
}

export function formatNameRef(name: string, labels: Record<string, string>): string {
  return labels.version ? `${name}:${labels.version}` : name;
}
