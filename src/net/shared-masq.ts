/**
 * The default net's IP masquerade as one shared set of nat rules, made by the first pod that needs
 * it and then left in place (like portmap's shared `CNI-HOSTPORT-*` chains), instead of ptp's
 * `ipMasq`, which makes and removes a chain of its own per pod (about nine iptables runs per ADD
 * and as many per DEL). The rules only say "traffic from this subnet leaving it is masqueraded":
 * they hold nothing of any pod, so they outlive the pods harmlessly. Pure: the rules as iptables
 * arguments and iptables-restore input; src/net/ensure-masq.ts applies them.
 *
 * To remove them (no pod on the net running): the `removeCommands` below, printed in
 * docs/networking.md.
 */
export interface SharedMasq {
  /** The nat chain (at most 28 characters). */
  chain: string;
  /** The source subnet whose outgoing traffic is masqueraded. */
  subnet: string;
  /** The comment on the POSTROUTING jump, so it is recognised as Capsule's. */
  comment: string;
}

/** Capsule's built-in `default` net (172.16.28.0/24). */
export const DEFAULT_NET_MASQ: SharedMasq = { chain: 'CAPSULE-MASQ', subnet: '172.16.28.0/24', comment: 'capsule: masquerade of the default net' };

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,27}$/;
const SUBNET_RE = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;
const COMMENT_RE = /^[A-Za-z0-9 :,._-]{1,200}$/;

/** Refuses values that would not be one plain token of iptables-restore input. */
export function checkMasq(m: SharedMasq): SharedMasq {
  if (!NAME_RE.test(m.chain) || !SUBNET_RE.test(m.subnet) || !COMMENT_RE.test(m.comment)) throw new Error(`invalid masquerade rule ${JSON.stringify(m)}`);
  return m;
}

/** The POSTROUTING rule that sends the subnet's traffic to the chain (for `-C`, `-A`, `-D`). */
export const masqJump = (m: SharedMasq): string[] => ['-s', m.subnet, '-m', 'comment', '--comment', m.comment, '-j', m.chain];

/**
 * iptables-restore --noflush input making the whole set: the chain (created, or flushed when it
 * exists), its two rules (traffic within the subnet is left alone, multicast too, the rest is
 * masqueraded: what ptp's ipMasq does per pod), and the jump. Appending the jump is not
 * idempotent: the caller checks for it under a lock first.
 */
export function masqRestoreInput(m: SharedMasq): string {
  checkMasq(m);
  return [
    '*nat',
    `:${m.chain} - [0:0]`,
    `-A ${m.chain} -d ${m.subnet} -j ACCEPT`,
    `-A ${m.chain} ! -d 224.0.0.0/4 -j MASQUERADE`,
    `-A POSTROUTING -s ${m.subnet} -m comment --comment "${m.comment}" -j ${m.chain}`,
    'COMMIT',
    '',
  ].join('\n');
}

/** The iptables commands that remove the set again (for the docs and for tests). */
export function masqRemoveCommands(m: SharedMasq): string[][] {
  return [
    ['-t', 'nat', '-D', 'POSTROUTING', ...masqJump(m)],
    ['-t', 'nat', '-F', m.chain],
    ['-t', 'nat', '-X', m.chain],
  ];
}
