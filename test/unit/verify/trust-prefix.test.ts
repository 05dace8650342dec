import { describe, expect, it } from 'vitest';
import { CapsuleError } from '../../../src/errors/capsule-error.js';
import { prefixCovers } from '../../../src/spec/ac-identifier.js';
import { parseTrustPrefix, scopeLabel } from '../../../src/verify/trust-prefix.js';

describe('parseTrustPrefix', () => {
  it.each([
    ['example.com', 'example.com'],
    ['example.com/capsule', 'example.com/capsule'],
    ['example.com/capsule/', 'example.com/capsule'],
    ['example.com/capsule//', 'example.com/capsule'],
    ['coreos.com/etcd', 'coreos.com/etcd'],
    ['a', 'a'],
    // Docker registries with a port (OCI images are trusted as registry/repository).
    ['example.com:443/x', 'example.com:443/x'],
    ['127.0.0.1:5000/team/', '127.0.0.1:5000/team'],
    ['localhost:5000', 'localhost:5000'],
  ])('accepts %j as prefix %j', (input, prefix) => {
    expect(parseTrustPrefix(input)).toEqual({ kind: 'prefix', prefix });
  });

  it.each(['https://example.com/capsule', 'http://example.com', 'HTTPS://example.com', 'docker://busybox', 'file:///etc/capsule'])('refuses the URL scheme in %j', (input) => {
    expect(() => parseTrustPrefix(input)).toThrow('--prefix must not contain a URL scheme, omit https://');
  });

  it.each([
    ['', /cannot be empty/],
    ['/', /cannot be empty/],
    ['Example.com', /lower case/],
    ['example.com/../etc', /"\.\."/],
    ['example.com/./x', /"\."/],
    ['example.com//x', /empty/],
    ['/example.com', /start and end/],
    ['example.com/x:443', /lower case alphanumeric/],
    ['example.com:http/x', /lower case alphanumeric/],
    ['example.com:443/../x', /"\.\."/],
    ['exa mple.com', /lower case alphanumeric/],
  ])('refuses %j as an image name prefix', (input, why) => {
    let err: unknown;
    try {
      parseTrustPrefix(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CapsuleError);
    expect((err as CapsuleError).message).toBe(`invalid --prefix ${JSON.stringify(input)}`);
    expect((err as CapsuleError).code).toBe('usage');
    expect(String((err as Error).cause)).toMatch(why);
  });
});

describe('scopeLabel', () => {
  it('names root keys "root" and prefix keys by their prefix', () => {
    expect(scopeLabel({ kind: 'root' })).toBe('root');
    expect(scopeLabel({ kind: 'prefix', prefix: 'example.com/capsule' })).toBe('example.com/capsule');
  });
});

describe('prefixCovers (whole path segments)', () => {
  it.each([
    ['example.com/capsule', 'example.com/capsule/busybox', true],
    ['example.com/capsule', 'example.com/capsule', true],
    ['example.com', 'example.com/capsule/busybox', true],
    ['example.com/capsule/busybox', 'example.com/capsule/busybox', true],
    ['example.com/capsule/busy', 'example.com/capsule/busybox', false],
    ['example.com/caps', 'example.com/capsule/busybox', false],
    ['example.co', 'example.com/capsule', false],
    ['example.com/other', 'example.com/capsule/busybox', false],
    ['example.com/capsule/busybox/x', 'example.com/capsule/busybox', false],
    ['capsule/busybox', 'example.com/capsule/busybox', false],
    ['', 'example.com/capsule/busybox', false],
    ['example.com/capsule/', 'example.com/capsule/busybox', true],
  ])('%j covers %j: %s', (prefix, name, covers) => {
    expect(prefixCovers(prefix, name)).toBe(covers);
  });
});
