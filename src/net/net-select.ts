import { CapsuleError, UsageError } from '../errors/capsule-error.js';
import type { NetConfList } from './net-conf.js';

/** One net requested with `--net NAME[:K=V;K=V]`; `args` become CNI_ARGS. */
export interface NetRequest {
  name: string;
  args: Array<[string, string]>;
}

/** What `--net` asks for: the host's namespace, a private one with loopback only, or CNI nets. */
export type NetSelection = { kind: 'host' } | { kind: 'none' } | { kind: 'cni'; nets: NetRequest[]; all: boolean };

/** CNI_ARGS are `K=V;K=V`: neither may hold `;` or `=` in the key, nor be empty. */
function parseArgs(name: string, s: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const kv of s.split(';')) {
    if (kv === '') continue;
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--net: invalid argument ${JSON.stringify(kv)} for network ${JSON.stringify(name)} (want K=V)`);
    out.push([kv.slice(0, eq), kv.slice(eq + 1)]);
  }
  return out;
}

/**
 * Parses a `--net` value (repeated flags already joined with `,`; absent: `default`) with rkt's
 * rules and messages: `host` and `none` stand alone and take no arguments, neither does `all`,
 * a net named twice is `found duplicate netname`.
 */
export function parseNetFlag(raw: string | undefined): NetSelection {
  const value = raw === undefined || raw === '' ? 'default' : raw;
  const nets: NetRequest[] = [];
  let all = false;
  let special: 'host' | 'none' | null = null;
  for (const item of value.split(',')) {
    if (item === '') continue;
    const colon = item.indexOf(':');
    const name = colon < 0 ? item : item.slice(0, colon);
    const args = colon < 0 ? [] : parseArgs(name, item.slice(colon + 1));
    if (name === '') throw new UsageError(`--net: empty network name in ${JSON.stringify(value)}`);
    if (name === 'host' || name === 'none' || name === 'all') {
      if (colon >= 0) throw new UsageError(`--net: the network ${JSON.stringify(name)} takes no arguments`);
      if (name === 'all') {
        if (all) throw new UsageError('found duplicate netname "all"');
        all = true;
        continue;
      }
      if (special !== null) throw new UsageError(`found duplicate netname ${JSON.stringify(name)}`);
      special = name;
      continue;
    }
    if (nets.some((n) => n.name === name)) throw new UsageError(`found duplicate netname ${JSON.stringify(name)}`);
    nets.push({ name, args });
  }
  if (special !== null) {
    if (nets.length > 0 || all) throw new UsageError(`--net=${special} cannot be combined with other networks`);
    return { kind: special };
  }
  if (!all && nets.length === 0) return { kind: 'cni', nets: [{ name: 'default', args: [] }], all: false };
  return { kind: 'cni', nets, all };
}

/** A net to join, its config found. */
export interface ChosenNet {
  conf: NetConfList;
  args: Array<[string, string]>;
  /** eth0, eth1, … in the order given. */
  ifName: string;
}

/**
 * The configs of the requested nets, in order; `all` is every net from net.d (and the built-in
 * `default`) not named explicitly, after the named ones. Unknown names: rkt's `networks not
 * found: a, b`.
 */
export function chooseNets(sel: Extract<NetSelection, { kind: 'cni' }>, available: ReadonlyMap<string, NetConfList>): ChosenNet[] {
  const missing = sel.nets.filter((n) => !available.has(n.name)).map((n) => n.name);
  if (missing.length > 0) throw new CapsuleError('net-not-found', `networks not found: ${missing.join(', ')}`);
  const picked: Array<{ conf: NetConfList; args: Array<[string, string]> }> = sel.nets.map((n) => ({ conf: available.get(n.name) as NetConfList, args: n.args }));
  if (sel.all) {
    for (const conf of [...available.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (conf.name === 'default-restricted' && conf.builtIn) continue;
      if (!picked.some((p) => p.conf.name === conf.name)) picked.push({ conf, args: [] });
    }
  }
  return picked.map((p, i) => ({ ...p, ifName: `eth${i}` }));
}
