import { describe, expect, it } from 'vitest';
import { formatNameRef, parseNameRef } from '../../../src/spec/image-ref.js';

describe('image name references: name[:version][,label=value…]', () => {
  const good: [string, string, Record<string, string>][] = [
    ['example.com/app', 'example.com/app', {}],
    ['example.com/app:1.0.0', 'example.com/app', { version: '1.0.0' }],
    ['coreos.com/etcd:v2.0.0,arch=amd64', 'coreos.com/etcd', { version: 'v2.0.0', arch: 'amd64' }],
    ['example.com/app,os=linux,arch=aarch64', 'example.com/app', { os: 'linux', arch: 'aarch64' }],
    ['example.com/app,channel=beta', 'example.com/app', { channel: 'beta' }],
    ['example.com/app,empty=', 'example.com/app', { empty: '' }],
    ['example.com/app:latest,version-like=a=b', 'example.com/app', { version: 'latest', 'version-like': 'a=b' }],
    ['busybox', 'busybox', {}],
  ];
  for (const [s, name, labels] of good) {
    it(`parses ${s}`, () => expect(parseNameRef(s)).toEqual({ name, labels }));
  }

  const bad: [string, RegExp][] = [
    ['', /cannot be empty/],
    ['Example.com/app', /lower case/],
    ['example.com/app:', /empty version/],
    ['example.com/app,os', /want label=value/],
    ['example.com/app,=linux', /want label=value/],
    ['example.com/app,name=x', /invalid label name: "name"/],
    ['example.com/app,os=linux,os=linux', /duplicate label "os"/],
    ['example.com/app,OS=linux', /lower case/],
    ['example.com/app,os=freebsd,arch=aarch64', /bad arch "aarch64" for freebsd/],
    ['example.com/app,os=windows', /bad os "windows"/],
    ['example.com/app:1,version=2', /duplicate label "version"/],
  ];
  for (const [s, why] of bad) it(`rejects ${JSON.stringify(s)}`, () => expect(() => parseNameRef(s)).toThrow(why));

  it('formats back as name:version', () => {
    expect(formatNameRef('example.com/app', { version: '1.0', os: 'linux' })).toBe('example.com/app:1.0');
    expect(formatNameRef('example.com/app', { os: 'linux' })).toBe('example.com/app');
  });
});
