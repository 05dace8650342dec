import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ERRNO, parseErrno } from '../../../src/spec/errno.js';

describe('errno names', () => {
  const cases: [string, number][] = [
    ['EPERM', 1],
    ['ENOENT', 2],
    ['EAGAIN', 11],
    ['EWOULDBLOCK', 11],
    ['EACCES', 13],
    ['EINVAL', 22],
    ['ERANGE', 34],
    ['EDEADLK', 35],
    ['EDEADLOCK', 35],
    ['ENOSYS', 38],
    ['ENOMSG', 42],
    ['EBFONT', 59],
    ['EOPNOTSUPP', 95],
    ['ENOTSUP', 95],
    ['ETIMEDOUT', 110],
    ['ECANCELED', 125],
    ['ENOTRECOVERABLE', 131],
    ['EHWPOISON', 133],
  ];
  for (const [name, n] of cases) it(`${name} = ${n}`, () => expect(parseErrno(name)).toBe(n));

  const bad = ['eperm', 'EPERMX', '', 'E', 'toString', '__proto__', 'constructor'];
  for (const name of bad) it(`rejects ${JSON.stringify(name)}`, () => expect(() => parseErrno(name)).toThrow(`unknown errno ${JSON.stringify(name)}`));

  it('numbers 1..133 are all named except the two gaps of asm-generic (41, 58)', () => {
    const nums = new Set(Object.values(ERRNO));
    for (let n = 1; n <= 133; n++) expect([n, nums.has(n)]).toEqual([n, n !== 41 && n !== 58]);
  });

  it.skipIf(process.platform !== 'linux')("agrees with Node's os.constants.errno on this Linux", () => {
    for (const [name, n] of Object.entries(constants.errno)) expect([name, ERRNO[name]]).toEqual([name, n]);
  });
});
