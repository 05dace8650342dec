import { CapsuleError } from '../errors/capsule-error.js';
import { DEFAULT_NET_MASQ, type SharedMasq } from './shared-masq.js';

/**
 * A CNI network configuration list (CNI spec 1.0 "Network configuration lists"). A single-plugin
 * `.conf` is read as a list of one. Plugin entries are kept as the JSON they were written as:
 * stdin for a plugin is built from them (cni-invoke.ts), never re-typed.
 */
export interface NetConfList {
  cniVersion: string;
  name: string;
  plugins: Array<Record<string, unknown>>;
  /** Where it came from: a file path, or `built-in`. */
  source: string;
  /** Built-in nets only: plugins whose only purpose is port mappings are skipped when there are none. */
  builtIn: boolean;
  /**
   * Built-in `default` only: its masquerade is this shared rule set (made once, kept), not ptp's
   * per-pod `ipMasq` chain (src/net/shared-masq.ts).
   */
  sharedMasq?: SharedMasq;
}

/** CNI 1.0: a network name starts with an alphanumeric, then alphanumerics, `_`, `.`, `-`. */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export const RESERVED_NETS = ['host', 'none', 'all'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a `.conf` (one plugin) or `.conflist` file's text. `source` names it in errors. */
export function parseNetConf(text: string, source: string, kind: 'conf' | 'conflist'): NetConfList {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CapsuleError('net-config', `network config ${source}: not valid JSON`, { cause: e });
  }
  if (!isObject(v)) throw new CapsuleError('net-config', `network config ${source}: not a JSON object`);
  const name = v.name;
  if (typeof name !== 'string' || !NAME_RE.test(name)) throw new CapsuleError('net-config', `network config ${source}: missing or invalid "name"`);
  if ((RESERVED_NETS as readonly string[]).includes(name)) throw new CapsuleError('net-config', `network config ${source}: the name ${JSON.stringify(name)} is reserved`);
  const cniVersion = typeof v.cniVersion === 'string' ? v.cniVersion : '0.1.0';
  let plugins: Array<Record<string, unknown>>;
  if (kind === 'conflist') {
    if (!Array.isArray(v.plugins) || v.plugins.length === 0) throw new CapsuleError('net-config', `network config ${source}: "plugins" must be a non-empty list`);
    plugins = v.plugins.map((p, i) => {
      if (!isObject(p) || typeof p.type !== 'string' || p.type === '') throw new CapsuleError('net-config', `network config ${source}: plugins[${i}] has no "type"`);
      return p;
    });
  } else {
    if (typeof v.type !== 'string' || v.type === '') throw new CapsuleError('net-config', `network config ${source}: missing "type"`);
    const { cniVersion: _v, name: _n, ...plugin } = v;
    plugins = [plugin];
  }
  for (const p of plugins) {
    if (typeof p.type !== 'string' || p.type.includes('/') || p.type.startsWith('.')) throw new CapsuleError('net-config', `network config ${source}: plugin type ${JSON.stringify(p.type)} is not a plain name`);
  }
  return { cniVersion, name, plugins, source, builtIn: false };
}

/** The subnet, masquerade and route of rkt's default net, as a CNI 1.0 list. */
export const DEFAULT_SUBNET = DEFAULT_NET_MASQ.subnet;
export const DEFAULT_RESTRICTED_SUBNET = '172.31.0.0/16';

export function builtInNets(): NetConfList[] {
  return [
    {
      cniVersion: '1.0.0',
      name: 'default',
      source: 'built-in',
      builtIn: true,
      sharedMasq: DEFAULT_NET_MASQ,
      plugins: [
        { type: 'ptp', ipMasq: false, ipam: { type: 'host-local', subnet: DEFAULT_SUBNET, routes: [{ dst: '0.0.0.0/0' }] } },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    },
    {
      cniVersion: '1.0.0',
      name: 'default-restricted',
      source: 'built-in',
      builtIn: true,
      plugins: [
        { type: 'ptp', ipMasq: false, ipam: { type: 'host-local', subnet: DEFAULT_RESTRICTED_SUBNET } },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    },
  ];
}

/** One file of a net.d directory, as listed by the caller. */
export interface NetConfFile {
  path: string;
  text: string;
}

/**
 * All nets a pod may join: the built-ins, then `<system-config>/net.d`, then `<local-config>/net.d`
 * (`dirs` in that order; files taken in lexicographic order of their names, `.conf` and `.conflist`
 * only). A later net of the same name replaces an earlier one (a user net named `default`
 * replaces the built-in); two files of the same name in one directory is an error.
 */
export function collectNets(dirs: ReadonlyArray<readonly NetConfFile[]>): Map<string, NetConfList> {
  const out = new Map<string, NetConfList>();
  for (const n of builtInNets()) out.set(n.name, n);
  for (const files of dirs) {
    const seen = new Map<string, string>();
    for (const f of [...files].sort((a, b) => (baseName(a.path) < baseName(b.path) ? -1 : 1))) {
      const kind = f.path.endsWith('.conflist') ? 'conflist' : f.path.endsWith('.conf') ? 'conf' : null;
      if (!kind) continue;
      const n = parseNetConf(f.text, f.path, kind);
      const before = seen.get(n.name);
      if (before !== undefined) throw new CapsuleError('net-config', `network ${JSON.stringify(n.name)} is defined twice: in ${before} and ${f.path}`);
      seen.set(n.name, f.path);
      out.set(n.name, n);
    }
  }
  return out;
}

const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
