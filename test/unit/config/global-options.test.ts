import { describe, expect, it } from 'vitest';
import { parseInsecureOptions, resolveGlobalOptions } from '../../../src/config/global-options.js';
import { CapsuleError } from '../../../src/errors/capsule-error.js';
import { readFileSync } from 'node:fs';
import { CAPSULE_VERSION } from '../../../src/version.js';

describe('--insecure-options', () => {
  it.each([
    ['none', []],
    ['image', ['image']],
    ['image,tls', ['image', 'tls']],
    ['all-fetch', ['image', 'tls', 'http', 'pubkey']],
    ['all-run', ['capabilities', 'paths', 'seccomp']],
    ['all', ['image', 'tls', 'http', 'pubkey', 'capabilities', 'paths', 'seccomp']],
    ['ondisk', []],
  ])('%s expands to %j', (flag, want) => {
    expect([...parseInsecureOptions(flag)].sort()).toEqual([...want].sort());
  });

  it.each(['foo', 'image,foo', 'IMAGE', 'image,'])('rejects %j', (flag) => {
    expect(() => parseInsecureOptions(flag)).toThrow(CapsuleError);
  });
});

describe('global options', () => {
  it('defaults to rkt-like locations under capsule names', () => {
    const g = resolveGlobalOptions({});
    expect(g).toMatchObject({ dir: '/var/lib/capsule', localConfig: '/etc/capsule', systemConfig: '/usr/lib/capsule', userConfig: undefined, debug: false });
    expect(g.insecure.size).toBe(0);
  });

  it('makes relative directories absolute', () => {
    expect(resolveGlobalOptions({ dir: 'rel/store' }).dir).toBe(`${process.cwd()}/rel/store`);
  });
});

describe('version', () => {
  it('matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(CAPSULE_VERSION).toBe(pkg.version);
  });
});
