import { describe, expect, it } from 'vitest';
import { CapsuleError, UsageError } from '../../../src/errors/capsule-error.js';
import { formatError } from '../../../src/errors/format.js';

const chain = (): CapsuleError =>
  new CapsuleError('signature', 'verifying example.com/app', {
    cause: new CapsuleError('signature', 'signature does not verify', { cause: new Error('Signed digest did not match'), hint: 'check the key' }),
  });

describe('formatError', () => {
  it('prints one line: command, what failed, the deepest explanation, the root cause, hint', () => {
    const s = formatError('fetch', chain(), false);
    expect(s).toBe('fetch: verifying example.com/app: signature does not verify: Signed digest did not match (check the key)');
    expect(s.split('\n')).toHaveLength(1);
  });

  it('prints the whole chain with --debug', () => {
    const lines = formatError('fetch', chain(), true).split('\n');
    expect(lines[0]).toBe('fetch: verifying example.com/app');
    expect(lines[1]).toBe('└─signature does not verify');
    expect(lines[2]).toBe('  └─Signed digest did not match');
    expect(lines.at(-1)).toBe('hint: check the key');
  });

  it('names the syscall and path of system errors', () => {
    const e = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', syscall: 'open', path: '/x/y' });
    expect(formatError('fetch', new CapsuleError('fetch', 'opening the image', { cause: e }), false)).toBe('fetch: opening the image: open /x/y: no such file or directory');
  });

  it('reports anything else as a bug, with a stack only under --debug', () => {
    const bug = new TypeError('x is undefined');
    expect(formatError('image list', bug, false)).toBe('image list: internal error (this is a bug): x is undefined');
    expect(formatError('image list', bug, true)).toContain('TypeError: x is undefined\n    at ');
  });

  it('keeps usage errors on one line', () => {
    expect(formatError('trust', new UsageError('--root and --prefix usage mutually exclusive'), false)).toBe('trust: --root and --prefix usage mutually exclusive');
  });
});
