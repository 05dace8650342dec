import { describe, expect, it } from 'vitest';
import { planSharedChainRemoval } from '../../../src/net/shared-chains.js';
import { DEFAULT_NET_MASQ } from '../../../src/net/shared-masq.js';

// The nat table as `iptables -t nat -S` printed it on a host after pods on the default net, some
// with --port, had all been collected: the chains portmap and the first pod made, and no pod's rule.
const idle = [
  '-P PREROUTING ACCEPT',
  '-P INPUT ACCEPT',
  '-P OUTPUT ACCEPT',
  '-P POSTROUTING ACCEPT',
  '-N CAPSULE-MASQ',
  '-N CNI-HOSTPORT-DNAT',
  '-N CNI-HOSTPORT-MASQ',
  '-N CNI-HOSTPORT-SETMARK',
  '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
  '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
  '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
  '-A POSTROUTING -s 172.16.28.0/24 -m comment --comment "capsule: masquerade of the default net" -j CAPSULE-MASQ',
  '-A CAPSULE-MASQ -d 172.16.28.0/24 -j ACCEPT',
  '-A CAPSULE-MASQ ! -d 224.0.0.0/4 -j MASQUERADE',
  '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
  '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
];
// What portmap adds for one pod forwarding 8080 (its per-pod chain and the jumps to it).
const forwarding = [
  '-N CNI-DN-0123456789abcdef01234',
  '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"default\\" id: \\"4f2e\\"" -m multiport --dports 8080 -j CNI-DN-0123456789abcdef01234',
  '-A CNI-DN-0123456789abcdef01234 -s 172.16.28.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK',
  '-A CNI-DN-0123456789abcdef01234 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.16.28.7:80',
];
const text = (lines: string[]): string => `${lines.join('\n')}\n`;
const free = { masq: false };

describe('removing the shared nat chains no pod uses', () => {
  it('both sets unused: the jumps into them deleted as listed, then every chain flushed and deleted, in one transaction', () => {
    expect(planSharedChainRemoval(text(idle), DEFAULT_NET_MASQ, free)).toEqual({
      chains: ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ', 'CAPSULE-MASQ'],
      input: [
        '*nat',
        '-D PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
        '-D OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
        '-D POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
        '-D POSTROUTING -s 172.16.28.0/24 -m comment --comment "capsule: masquerade of the default net" -j CAPSULE-MASQ',
        '-F CNI-HOSTPORT-DNAT',
        '-F CNI-HOSTPORT-SETMARK',
        '-F CNI-HOSTPORT-MASQ',
        '-F CAPSULE-MASQ',
        '-X CNI-HOSTPORT-DNAT',
        '-X CNI-HOSTPORT-SETMARK',
        '-X CNI-HOSTPORT-MASQ',
        '-X CAPSULE-MASQ',
        'COMMIT',
        '',
      ].join('\n'),
    });
  });

  it('a pod on the default net (a lease) keeps the masquerade; portmap\'s chains go', () => {
    expect(planSharedChainRemoval(text(idle), DEFAULT_NET_MASQ, { masq: true })?.chains).toEqual(['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ']);
  });

  it('a pod forwarding a port keeps portmap\'s chains; the masquerade goes when no lease is left', () => {
    expect(planSharedChainRemoval(text([...idle, ...forwarding]), DEFAULT_NET_MASQ, free)?.chains).toEqual(['CAPSULE-MASQ']);
    expect(planSharedChainRemoval(text([...idle, ...forwarding]), DEFAULT_NET_MASQ, { masq: true })).toBeNull();
  });

  it('a chain of someone else still jumping to one of a set (a crashed DEL\'s CNI-DN chain) keeps that whole set', () => {
    const stale = forwarding.filter((l) => !l.startsWith('-A CNI-HOSTPORT-DNAT'));
    expect(planSharedChainRemoval(text([...idle, ...stale]), DEFAULT_NET_MASQ, free)?.chains).toEqual(['CAPSULE-MASQ']);
  });

  it('nothing shared on the table, or only another masquerade chain: nothing to do', () => {
    expect(planSharedChainRemoval(text(idle.slice(0, 4)), DEFAULT_NET_MASQ, free)).toBeNull();
    const other = { ...DEFAULT_NET_MASQ, chain: 'CAPSULE-T-x' };
    expect(planSharedChainRemoval(text(idle.filter((l) => !l.includes('CNI-'))), other, free)).toBeNull();
  });
});
