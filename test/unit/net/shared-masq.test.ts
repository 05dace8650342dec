import { describe, expect, it } from 'vitest';
import { builtInNets } from '../../../src/net/net-conf.js';
import { checkMasq, DEFAULT_NET_MASQ, masqJump, masqRemoveCommands, masqRestoreInput } from '../../../src/net/shared-masq.js';

describe('the default net\'s shared masquerade', () => {
  it('the built-in default gives ptp no ipMasq and carries the shared rules; default-restricted has neither', () => {
    const [def, restricted] = builtInNets();
    expect(def?.plugins[0]).toMatchObject({ type: 'ptp', ipMasq: false });
    expect(def?.sharedMasq).toEqual({ chain: 'CAPSULE-MASQ', subnet: '172.16.28.0/24', comment: 'capsule: masquerade of the default net' });
    expect(restricted?.plugins[0]).toMatchObject({ type: 'ptp', ipMasq: false });
    expect(restricted?.sharedMasq).toBeUndefined();
  });

  it('one iptables-restore transaction: chain, its two rules, then the jump', () => {
    expect(masqRestoreInput(DEFAULT_NET_MASQ)).toBe(
      [
        '*nat',
        ':CAPSULE-MASQ - [0:0]',
        '-A CAPSULE-MASQ -d 172.16.28.0/24 -j ACCEPT',
        '-A CAPSULE-MASQ ! -d 224.0.0.0/4 -j MASQUERADE',
        '-A POSTROUTING -s 172.16.28.0/24 -m comment --comment "capsule: masquerade of the default net" -j CAPSULE-MASQ',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(masqJump(DEFAULT_NET_MASQ)).toEqual(['-s', '172.16.28.0/24', '-m', 'comment', '--comment', 'capsule: masquerade of the default net', '-j', 'CAPSULE-MASQ']);
    expect(masqRemoveCommands(DEFAULT_NET_MASQ).map((c) => c.slice(0, 3).join(' '))).toEqual(['-t nat -D', '-t nat -F', '-t nat -X']);
  });

  it.each([
    [{ chain: 'X\nCOMMIT', subnet: '10.0.0.0/8', comment: 'c' }],
    [{ chain: 'A'.repeat(29), subnet: '10.0.0.0/8', comment: 'c' }],
    [{ chain: 'OK', subnet: '10.0.0.0/8 -j ACCEPT', comment: 'c' }],
    [{ chain: 'OK', subnet: '10.0.0.0/8', comment: 'a" -j DROP "' }],
  ])('refuses values that are not one plain token: %j', (m) => {
    expect(() => checkMasq(m)).toThrow(/invalid masquerade rule/);
    expect(() => masqRestoreInput(m)).toThrow(/invalid masquerade rule/);
  });
});
