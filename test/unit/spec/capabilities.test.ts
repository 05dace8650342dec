import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CAPABILITIES, DEFAULT_CAPABILITIES, capabilityMask, capabilityNumber, parseCapability, parseCapabilityList, sortCapabilities } from '../../../src/spec/capabilities.js';

describe('capability table', () => {
  it('numbers 0..40, first and last as in linux/capability.h', () => {
    expect(CAPABILITIES).toHaveLength(41);
    expect(capabilityNumber('CAP_CHOWN')).toBe(0);
    expect(capabilityNumber('CAP_SYS_ADMIN')).toBe(21);
    expect(capabilityNumber('CAP_CHECKPOINT_RESTORE')).toBe(40);
    expect(capabilityNumber('CAP_NOPE')).toBeUndefined();
  });

  const header = '/usr/include/linux/capability.h';
  it.skipIf(!fs.existsSync(header))('agrees with the kernel header on this machine', () => {
    const text = fs.readFileSync(header, 'utf8');
    for (const m of text.matchAll(/^#define (CAP_[A-Z_]+)\s+(\d+)\s*$/gm)) {
      const [, name = '', n = ''] = m;
      if (name === 'CAP_LAST_CAP') continue;
      expect([name, capabilityNumber(name)]).toEqual([name, Number(n)]);
    }
  });

  it("rkt's 14 defaults", () => {
    expect(DEFAULT_CAPABILITIES).toEqual([
      'CAP_AUDIT_WRITE', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_KILL', 'CAP_MKNOD',
      'CAP_NET_RAW', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETFCAP', 'CAP_SYS_CHROOT',
    ]);
  });
});

describe('parseCapability', () => {
  const good: [string, string][] = [
    ['CAP_NET_ADMIN', 'CAP_NET_ADMIN'],
    ['cap_net_admin', 'CAP_NET_ADMIN'],
    ['NET_ADMIN', 'CAP_NET_ADMIN'],
    ['net_admin', 'CAP_NET_ADMIN'],
    [' CAP_KILL ', 'CAP_KILL'],
    ['Cap_Bpf', 'CAP_BPF'],
  ];
  for (const [s, want] of good) it(`${JSON.stringify(s)} → ${want}`, () => expect(parseCapability(s)).toBe(want));

  const bad: [string, string][] = [
    ['CAP_FOO', 'unknown capability "CAP_FOO"'],
    ['foo', 'unknown capability "foo"'],
    ['CAP_', 'unknown capability "CAP_"'],
    ['', 'empty capability name'],
    ['  ', 'empty capability name'],
  ];
  for (const [s, msg] of bad) it(`rejects ${JSON.stringify(s)}`, () => expect(() => parseCapability(s)).toThrow(msg));

  it('lists: canonical, de-duplicated, order kept', () => {
    expect(parseCapabilityList(['kill', 'CAP_CHOWN', 'cap_kill'])).toEqual(['CAP_KILL', 'CAP_CHOWN']);
    expect(() => parseCapabilityList(['CAP_KILL', 'CAP_WHAT'])).toThrow('unknown capability "CAP_WHAT"');
  });

  it('sorts by number', () => expect(sortCapabilities(['CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_CHOWN'])).toEqual(['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_CHROOT']));
});

describe('capabilityMask', () => {
  const cases: [string[], string][] = [
    [[], '0'],
    [['CAP_CHOWN'], '1'],
    [['CAP_KILL'], '20'],
    [['CAP_CHOWN', 'CAP_KILL', 'CAP_CHOWN'], '21'],
    [['CAP_SYS_ADMIN'], '200000'],
    [['CAP_SETFCAP'], '80000000'],
    [['CAP_MAC_OVERRIDE'], '100000000'],
    [['CAP_CHECKPOINT_RESTORE'], '10000000000'],
    [[...CAPABILITIES], '1ffffffffff'],
    // rkt's defaults: the 14 bits of docker's default bounding set.
    [[...DEFAULT_CAPABILITIES], 'a80425fb'],
  ];
  for (const [names, want] of cases) it(`${names.length > 3 ? `${names.length} caps` : JSON.stringify(names)} → ${want}`, () => expect(capabilityMask(names)).toBe(want));

  it('rejects non-canonical names', () => expect(() => capabilityMask(['kill'])).toThrow('unknown capability "kill"'));
});
