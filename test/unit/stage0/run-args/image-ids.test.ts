import { describe, expect, it } from 'vitest';
import { lookupId, resolveImageId } from '../../../../src/stage0/run-args/image-ids.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\n# comment:x:9:9\nbroken line\ndaemon:x:1:1::/:/sbin/nologin\nweb:x:1000:1000::/home/web:/bin/sh\nbad:x:notanumber:1\nhuge:x:4294967295:1\n';
const GROUP = 'root:x:0:\nwheel:x:10:web\nweb:x:1000:\n';
const files: Record<string, string> = { 'etc/passwd': PASSWD, 'etc/group': GROUP };
const owners: Record<string, { uid: number; gid: number }> = { 'usr/bin/ping': { uid: 0, gid: 998 }, 'home/web': { uid: 1000, gid: 1000 } };
const read = (p: string): string | null => files[p] ?? null;
const stat = (p: string): { uid: number; gid: number } | null => owners[p] ?? null;
const none = (): null => null;
const throws = (): never => {
  throw new Error('EACCES');
};

describe('lookupId', () => {
  const cases: [string, number | undefined][] = [
    ['root', 0],
    ['daemon', 1],
    ['web', 1000],
    ['nobody', undefined],
    ['bad', undefined],
    ['huge', undefined],
    ['# comment', undefined],
    ['', undefined],
  ];
  for (const [name, want] of cases) it(`${JSON.stringify(name)} → ${want}`, () => expect(lookupId(PASSWD, name)).toBe(want));
});

describe('resolveImageId', () => {
  const good: ['user' | 'group', string, number, ((p: string) => string | null)?][] = [
    ['user', '0', 0],
    ['user', '1234', 1234],
    ['user', '4294967294', 4294967294],
    ['user', 'web', 1000],
    ['user', 'root', 0],
    ['user', 'root', 0, none], // root always works, even without /etc/passwd
    ['group', 'wheel', 10],
    ['group', 'root', 0, none],
    ['user', '/usr/bin/ping', 0],
    ['group', '/usr/bin/ping', 998],
    ['user', '/home/web', 1000],
  ];
  for (const [kind, s, want, reader] of good) it(`${kind} ${s} → ${want}`, () => expect(resolveImageId(kind, s, reader ?? read, stat)).toBe(want));

  const bad: ['user' | 'group', string, string, ((p: string) => string | null)?, ((p: string) => { uid: number; gid: number } | null)?][] = [
    ['user', 'user2', '"user2" user not found'],
    ['group', 'staff', '"staff" group not found'],
    ['user', 'web', '"web" user not found', none],
    ['user', 'web', '"web" user not found', throws],
    ['user', '/nonexistent', '"/nonexistent" user not found'],
    ['group', '/nonexistent', '"/nonexistent" group not found'],
    ['user', '/usr/../usr/bin/ping', '"/usr/../usr/bin/ping" user not found'],
    ['user', '/usr/bin/ping', '"/usr/bin/ping" user not found', read, throws],
    ['user', '4294967295', 'invalid user id "4294967295"'],
    ['group', '99999999999999999999', 'invalid group id "99999999999999999999"'],
  ];
  for (const [kind, s, msg, reader, statter] of bad) {
    it(`${kind} ${s} → ${msg}`, () => expect(() => resolveImageId(kind, s, reader ?? read, statter ?? stat)).toThrow(msg));
  }
});
