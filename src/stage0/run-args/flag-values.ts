/** The value syntax of `run`/`prepare` flags: pure parsers, each error a UsageError. */
import { volumeModeProblem } from '../../spec/volume-mode.js';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';
import { parseAcName } from '../../spec/ac-identifier.js';
import { parseErrno } from '../../spec/errno.js';
import { expandSeccompSet } from '../../spec/seccomp-groups.js';
import { parseGoBool } from '../../spec/go-bool.js';
import type { Stage1Flavour } from '../../stage1/contract.js';
import type { MountFlag, SeccompFlag, VolumeFlag } from './run-spec.js';

/** rkt refuses smaller memory limits: most likely `16m` (milli-bytes) meant `16M`. */
export const MIN_MEMORY_LIMIT = 4 * 1024 * 1024;

export const MAX_ID = 4294967294;

/** A spec/ error raised while reading a flag is the user's mistake: same message, usage code. */
export function usage<T>(f: () => T, prefix?: string): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof CapsuleError && !(e instanceof UsageError)) throw new UsageError(prefix ? `${prefix}: ${e.message}` : e.message);
    throw e;
  }
}

export function keyValue(s: string, flag: string): [string, string] {
  const eq = s.indexOf('=');
  if (eq <= 0) throw new UsageError(`invalid format of ${flag} flag ${JSON.stringify(s)}`);
  return [s.slice(0, eq), s.slice(eq + 1)];
}

export function intIn(s: string, min: number, max: number): number | undefined {
  if (!/^-?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

/** `a=b,c=d` as rkt splits it (no URL decoding; a key twice is an error). */
function params(items: string[], what: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const item of items) {
    const eq = item.indexOf('=');
    const k = eq < 0 ? item : item.slice(0, eq);
    if (m.has(k)) throw new UsageError(`${what} parameter ${JSON.stringify(k)} given more than once`);
    m.set(k, eq < 0 ? '' : item.slice(eq + 1));
  }
  return m;
}

/**
 * A --mount target: a relative one is relative to "/" (rkt's tests use `target=dir`); ".." and
 * symlinks are kept for stage1, which resolves them inside the app's root (never outside it).
 */
function mountTarget(p: string): string | undefined {
  if (p === '' || p.includes('\0')) return undefined;
  const n = `/${p}/`.replace(/\/+/g, '/').replace(/\/(\.\/)+/g, '/') || '/';
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

export function parseVolumeFlag(s: string): VolumeFlag {
  const bad = (why: string): UsageError => new UsageError(`invalid value in --volume flag ${JSON.stringify(s)}: ${why}`);
  const [name = '', ...rest] = s.split(',');
  try {
    parseAcName(name, 'volume name');
  } catch (e) {
    throw bad((e as Error).message);
  }
  let p: Map<string, string>;
  try {
    p = params(rest, 'volume');
  } catch (e) {
    throw bad((e as Error).message);
  }
  for (const k of p.keys()) if (!['kind', 'source', 'readOnly', 'recursive', 'mode', 'uid', 'gid'].includes(k)) throw bad(`unknown volume parameter ${JSON.stringify(k)}`);
  const kind = p.get('kind');
  if (kind !== 'host' && kind !== 'empty') throw bad('unrecognized volume kind: should be one of "empty", "host"');
  const v: VolumeFlag = { name, kind };
  const bool = (k: 'readOnly' | 'recursive'): void => {
    const raw = p.get(k);
    if (raw === undefined) return;
    const b = parseGoBool(raw);
    if (b === undefined) throw bad(`${k}: invalid boolean ${JSON.stringify(raw)}`);
    v[k] = b;
  };
  bool('readOnly');
  if (kind === 'host') {
    const source = p.get('source');
    if (source === undefined || source === '') throw bad('source for host volume cannot be empty');
    if (!source.startsWith('/')) throw bad('source for host volume must be absolute path');
    v.source = source;
    for (const k of ['mode', 'uid', 'gid']) if (p.has(k)) throw bad(`${k} for host volume cannot be set`);
    bool('recursive');
  } else {
    if (p.has('source')) throw bad('source for empty volume must be empty');
    if (p.has('recursive')) throw bad('recursive for empty volume cannot be set');
    const mode = p.get('mode');
    if (mode !== undefined) {
      const problem = volumeModeProblem(mode);
      if (problem !== undefined) throw bad(problem);
      v.mode = mode;
    }
    for (const k of ['uid', 'gid'] as const) {
      const raw = p.get(k);
      if (raw === undefined) continue;
      const n = intIn(raw, 0, MAX_ID);
      if (n === undefined) throw bad(`invalid ${k} ${JSON.stringify(raw)}`);
      v[k] = n;
    }
  }
  return v;
}

export function parseMountFlag(s: string): MountFlag {
  const p = params(s.split(','), 'mount');
  for (const k of p.keys()) if (k !== 'volume' && k !== 'target') throw new UsageError(`unknown mount parameter ${JSON.stringify(k)}`);
  const volume = p.get('volume');
  const target = p.get('target');
  if (volume === undefined || target === undefined) throw new UsageError(`--mount flag ${JSON.stringify(s)} needs volume= and target=`);
  try {
    parseAcName(volume, 'volume name');
  } catch (e) {
    throw new UsageError(`invalid volume name ${JSON.stringify(volume)} in --mount flag ${JSON.stringify(s)}: ${(e as Error).message}`);
  }
  const norm = mountTarget(target);
  if (norm === undefined) throw new UsageError(`invalid target ${JSON.stringify(target)} in --mount flag ${JSON.stringify(s)}: must be a path`);
  return { volume, path: norm };
}

/** rkt's `--seccomp [errno=EPERM,]mode=retain|remove,syscall|@group,…`. */
export function parseSeccompFlag(s: string): SeccompFlag {
  let mode: string | undefined;
  let errno: string | null = null;
  const set: string[] = [];
  for (const item of s.split(',')) {
    const kv = item.split('=');
    if (kv.length === 2) {
      const [k = '', v = ''] = kv;
      if (k === 'mode') mode = v;
      // An empty errno is appc's "kill the app" (the default).
      else if (k === 'errno') errno = v === '' ? null : v;
      else throw new UsageError(`invalid seccomp command-line override ${JSON.stringify(item)}`);
    } else if (kv.length > 2 || item === '') {
      throw new UsageError(`invalid seccomp command-line override ${JSON.stringify(item)}`);
    } else set.push(item);
  }
  if (mode !== 'retain' && mode !== 'remove') throw new UsageError('invalid seccomp mode command-line override (want mode=retain or mode=remove)');
  if (set.length === 0) throw new UsageError('--seccomp needs at least one syscall or @group');
  if (errno !== null) {
    const e = errno;
    usage(() => parseErrno(e), '--seccomp');
  }
  const exp = usage(() => expandSeccompSet(set), '--seccomp');
  if (exp.all && mode === 'remove') throw new UsageError('--seccomp: @appc.io/all is only valid in a retain set');
  return { mode, errno, set };
}

/**
 * The stage1 flavour a `--stage1-*` value names: `nspawn` or `fly`, or an rkt stage1 image
 * name, file or URL whose last path segment says which (`…stage1-fly…` → fly;
 * `…stage1-coreos…`, `…-host…`, `…-src…` → nspawn).
 */
export function stage1FlavourOf(value: string, flag: string): Stage1Flavour {
  if (value === 'nspawn' || value === 'fly') return value;
  if (flag !== '--stage1') {
    const last = (value.split(/[?#]/)[0] ?? '').split('/').filter(Boolean).pop() ?? '';
    const base = last.replace(/:.*$/, '').toLowerCase();
    if (base.includes('fly')) return 'fly';
    if (/coreos|host|src|nspawn/.test(base)) return 'nspawn';
  }
  throw new UsageError(`unsupported stage1 ${JSON.stringify(value)} for ${flag} (capsule has the nspawn and fly flavours)`);
}

