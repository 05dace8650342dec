import { describe, expect, it } from 'vitest';
import { formatReference, parseOciReference, repositoryName } from '../../../src/oci/reference.js';

describe('parseOciReference', () => {
  it.each([
    ['busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
    ['team/app:1.0', { registry: 'docker.io', repository: 'team/app', tag: '1.0' }],
    ['127.0.0.1:5000/team/app', { registry: '127.0.0.1:5000', repository: 'team/app', tag: 'latest' }],
    ['localhost/app:v2', { registry: 'localhost', repository: 'app', tag: 'v2' }],
    ['quay.io/a/b/c@sha256:' + 'a'.repeat(64), { registry: 'quay.io', repository: 'a/b/c', digest: 'sha256:' + 'a'.repeat(64) }],
    ['reg.example.com:443/x:t@sha256:' + 'b'.repeat(64), { registry: 'reg.example.com:443', repository: 'x', tag: 't', digest: 'sha256:' + 'b'.repeat(64) }],
  ])('%s', (s, want) => {
    expect(parseOciReference(s)).toEqual(want);
  });

  it('a default registry replaces Docker Hub, without library/', () => {
    expect(parseOciReference('app', 'mirror.example.com')).toEqual({ registry: 'mirror.example.com', repository: 'app', tag: 'latest' });
  });

  it.each(['', 'UPPER/case', 'a//b', 'app:', 'app:-x', 'app@sha256:abc', 'app@md5:' + 'a'.repeat(32), '-app', 'a/b_/c'])('refuses %j', (s) => {
    expect(() => parseOciReference(s)).toThrow(/invalid image reference/);
  });

  it('formats names for the store and for signature claims', () => {
    const r = parseOciReference('127.0.0.1:5000/team/app:1.0');
    expect(repositoryName(r)).toBe('127.0.0.1:5000/team/app');
    expect(formatReference(r)).toBe('127.0.0.1:5000/team/app:1.0');
  });
});
