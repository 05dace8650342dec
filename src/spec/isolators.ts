import { CapsuleError } from '../errors/capsule-error.js';
import { parseAcIdentifier } from './ac-identifier.js';
import { parseQuantity } from './quantity.js';

export interface Isolator { name: string; value: unknown }

const bad = (field: string, why: string): CapsuleError => new CapsuleError('invalid-manifest', `${field}: ${why}`);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function resource(v: unknown, f: string, mustDefault: boolean): void {
  if (!isObj(v)) throw bad(f, 'value must be an object');
  if (mustDefault) {
    if (v.default !== true) throw bad(f, 'default must be true');
    if (v.request !== undefined) throw bad(f, 'request is not supported');
  } else if (v.default === true) throw bad(f, 'default must be false');
  if (v.request !== undefined) parseQuantity(v.request, `${f}.request`);
  if (v.limit !== undefined) parseQuantity(v.limit, `${f}.limit`);
}

function stringSet(v: unknown, f: string, pattern: RegExp, what: string): void {
  if (!isObj(v) || !Array.isArray(v.set) || v.set.length === 0) throw bad(f, 'set must be a non-empty list');
  for (const s of v.set) if (typeof s !== 'string' || !pattern.test(s)) throw bad(f, `bad ${what} ${JSON.stringify(s)}`);
}

function seccomp(v: unknown, f: string): void {
  stringSet(v, f, /^(@[a-z0-9._/-]+|[a-z0-9_]+)$/, 'syscall');
  const errno = (v as Record<string, unknown>).errno;
  if (errno !== undefined && errno !== '' && (typeof errno !== 'string' || !/^E[A-Z0-9]+$/.test(errno))) throw bad(f, `bad errno ${JSON.stringify(errno)}`);
}

function intRange(v: unknown, f: string, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(f, `must be an integer from ${min} to ${max}`);
}

const CHECKS: Record<string, (v: unknown, f: string) => void> = {
  'resource/cpu': (v, f) => resource(v, f, false),
  'resource/memory': (v, f) => resource(v, f, false),
  'resource/block-bandwidth': (v, f) => resource(v, f, true),
  'resource/block-iops': (v, f) => resource(v, f, true),
  'resource/network-bandwidth': (v, f) => resource(v, f, true),
  'os/linux/capabilities-retain-set': (v, f) => stringSet(v, f, /^CAP_[A-Z_]+$/, 'capability'),
  'os/linux/capabilities-remove-set': (v, f) => stringSet(v, f, /^CAP_[A-Z_]+$/, 'capability'),
  'os/linux/no-new-privileges': (v, f) => {
    if (typeof v !== 'boolean') throw bad(f, 'value must be true or false');
  },
  'os/linux/seccomp-remove-set': seccomp,
  'os/linux/seccomp-retain-set': seccomp,
  'os/linux/oom-score-adj': (v, f) => intRange(v, f, -1000, 1000),
  'os/linux/cpu-shares': (v, f) => intRange(v, f, 2, 262144),
  'os/linux/selinux-context': (v, f) => {
    if (!isObj(v)) throw bad(f, 'value must be an object');
    for (const k of ['user', 'role', 'type', 'level']) {
      const s = v[k];
      if (typeof s !== 'string' || s === '' || (k !== 'level' && s.includes(':'))) throw bad(f, `bad ${k}`);
    }
  },
  'os/linux/apparmor-profile': (v, f) => {
    if (!isObj(v) || typeof v.profile !== 'string' || v.profile === '') throw bad(f, 'profile must be a non-empty string');
  },
  'os/unix/sysctl': (v, f) => {
    if (!isObj(v)) throw bad(f, 'value must be an object');
  },
};

const SINGLE = ['os/linux/seccomp-remove-set', 'os/linux/seccomp-retain-set', 'os/linux/oom-score-adj', 'os/linux/cpu-shares'];

/** Validates known isolators; unknown ones are kept (executors may ignore them and say so). */
export function validateIsolators(v: unknown, field: string): Isolator[] {
  if (!Array.isArray(v)) throw bad(field, 'must be a list');
  const out = v.map((item, i) => {
    const f = `${field}[${i}]`;
    if (!isObj(item)) throw bad(f, 'must be an object');
    if (typeof item.name !== 'string') throw bad(`${f}.name`, 'must be a string');
    const name = parseAcIdentifier(item.name, `${f}.name`);
    CHECKS[name]?.(item.value, `${f} (${name})`);
    return { name, value: item.value };
  });
  for (const n of SINGLE) if (out.filter((i) => i.name === n).length > 1) throw bad(field, `isolators set contains too many instances of type ${n}`);
  if (out.some((i) => i.name === 'os/linux/seccomp-remove-set') && out.some((i) => i.name === 'os/linux/seccomp-retain-set')) {
    throw bad(field, 'isolators set contains incompatible types (seccomp retain and remove sets)');
  }
  return out;
}
