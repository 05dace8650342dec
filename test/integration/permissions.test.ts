import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_ONLY } from '../../src/cli/program.js';
import { errorLines } from '../helpers/cli.js';
import { makeTestUser, type TestUser } from '../helpers/test-user.js';

describe('root-only commands refuse unprivileged users first (rkt: "cannot run as unprivileged user")', () => {
  let u: TestUser;
  beforeAll(() => (u = makeTestUser('pc', false)));
  afterAll(() => u.remove());

  for (const cmd of ROOT_ONLY) {
    it(`${cmd} without arguments as ${'a user'}: the root check, not a missing argument`, async () => {
      const r = await u.run(['--dir=/nonexistent/capsule-pc', ...cmd.split(' ')]);
      expect(r.code, r.stderr).toBe(254);
      expect(r.stdout).toBe('');
      expect(errorLines(r)).toEqual([`${cmd}: cannot run as unprivileged user`]);
    });
    it(`${cmd} --help works for everyone`, async () => {
      const r = await u.run([...cmd.split(' '), '--help']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('Usage:');
    });
  }

  it('run-prepared with a bad flag as a user: still the root check first', async () => {
    const r = await u.run(['run-prepared', '--bogus']);
    expect(errorLines(r)).toEqual(['run-prepared: cannot run as unprivileged user']);
  });
});
