import { describe, expect, it } from 'vitest';
import { parseChallenges } from '../../../../src/oci/registry/www-authenticate.js';

describe('parseChallenges', () => {
  it.each([
    ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"', [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } }]],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    ['Basic realm="a, b", Bearer realm="https://t/x", service=reg', [{ scheme: 'basic', params: { realm: 'a, b' } }, { scheme: 'bearer', params: { realm: 'https://t/x', service: 'reg' } }]],
    ['BEARER Realm = "q\\"uote"', [{ scheme: 'bearer', params: { realm: 'q"uote' } }]],
    ['Negotiate abc==, Basic realm=x', [{ scheme: 'negotiate', params: {}, token68: 'abc==' }, { scheme: 'basic', params: { realm: 'x' } }]],
    ['Basic', [{ scheme: 'basic', params: {} }]],
  ])('%s', (header, want) => {
    expect(parseChallenges(header)).toEqual(want);
  });

  it.each([
    ['Bearer realm="unterminated', /unterminated quoted string/],
    ['Bearer realm="a", realm="b"', /given twice/],
    ['Bearer realm=,service=x', /expected a space after the scheme/],
    ['Bearer realm="a" service="b"', /expected ","/],
    ['=x', /expected an authentication scheme/],
        ['Bearer realm="a\nb"', /control character/],
  ])('refuses case %#: %s', (header, why) => {
    expect(() => parseChallenges(header)).toThrow(why);
  });

  it('refuses headers longer than 16 KiB', () => {
    expect(() => parseChallenges(`Bearer realm="${'a'.repeat(20000)}"`)).toThrow(/longer than/);
  });
});
