/**
 * The host-wide nat chains that outlive the pods that needed them: Capsule's shared masquerade
 * of the default net (src/net/shared-masq.ts) and the CNI portmap plugin's top-level chains
 * (`CNI-HOSTPORT-DNAT`, `-SETMARK`, `-MASQ`: made by the first ADD with a forwarded port, never
 * removed by the plugin, made again by its next ADD). Pure: from the nat table as
 * `iptables -t nat -S` prints it, the iptables-restore input that removes the sets no pod uses.
 * src/net/sweep-shared-chains.ts decides what "no pod uses" means and applies it.
 */
import { checkMasq, type SharedMasq } from './shared-masq.js';

export const PORTMAP_CHAINS = ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ'] as const;

const BUILTIN_CHAINS = new Set(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']);

interface Rule {
  chain: string;
  /** The rule's specification after its chain (what `-D CHAIN …` takes). */
  spec: string;
  target: string | null;
}

function parseRules(natRules: string): { chains: Set<string>; rules: Rule[] } {
  const chains = new Set<string>();
  const rules: Rule[] = [];
  for (const line of natRules.split('\n')) {
    const n = /^-N (\S+)$/.exec(line)?.[1];
    if (n !== undefined) chains.add(n);
    const [, chain, spec] = /^-A (\S+) (.*)$/.exec(line) ?? [];
    if (chain !== undefined && spec !== undefined) rules.push({ chain, spec, target: /(?:^| )-[jg] (\S+)/.exec(spec)?.[1] ?? null });
  }
  return { chains, rules };
}

export interface SharedChainsInUse {
  /** Some pod may still send traffic through the default net's masquerade (a lease exists). */
  masq: boolean;
}

export interface SharedChainsRemoval {
  /** The chains removed, for gc's report. */
  chains: string[];
  /** iptables-restore --noflush input: delete the jumps into them, flush them, delete them. */
  input: string;
}

/**
 * The sets to remove and how: a set goes only when all its chains' references are jumps from the
 * built-in chains or from the set itself (anything else, e.g. a per-pod `CNI-DN-…` chain of a
 * crashed DEL still jumping to `CNI-HOSTPORT-SETMARK`, keeps it), and when nothing says it is in
 * use: portmap's while `CNI-HOSTPORT-DNAT` holds a rule (a pod's forwarded ports), the masquerade
 * while `inUse.masq`. Null when nothing is to be removed.
 */
export function planSharedChainRemoval(natRules: string, masq: SharedMasq, inUse: SharedChainsInUse): SharedChainsRemoval | null {
  checkMasq(masq);
  const { chains, rules } = parseRules(natRules);
  const sets: string[][] = [];
  const portmap = PORTMAP_CHAINS.filter((c) => chains.has(c));
  if (portmap.length > 0 && !rules.some((r) => r.chain === 'CNI-HOSTPORT-DNAT')) sets.push(portmap);
  if (chains.has(masq.chain) && !inUse.masq) sets.push([masq.chain]);
  const removable = sets.filter((set) => rules.every((r) => r.target === null || !set.includes(r.target) || BUILTIN_CHAINS.has(r.chain) || set.includes(r.chain)));
  if (removable.length === 0) return null;
  const gone = removable.flat();
  const jumps = rules.filter((r) => r.target !== null && gone.includes(r.target) && BUILTIN_CHAINS.has(r.chain));
  const input = ['*nat', ...jumps.map((r) => `-D ${r.chain} ${r.spec}`), ...gone.map((c) => `-F ${c}`), ...gone.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
  return { chains: gone, input };
}
