import { describe, expect, it } from 'vitest';
import { classifyImageArg, type ImageArg } from '../../../src/stage0/image-arg.js';

const noFiles = (): boolean => false;

describe('image argument classification (rkt’s order: ID, file, URL, docker, name)', () => {
  const cases: [string, ImageArg, ((p: string) => boolean)?][] = [
    ['sha512-abc', { kind: 'id', value: 'sha512-abc' }],
    ['SHA512-ABC', { kind: 'id', value: 'SHA512-ABC' }],
    ['sha512-abc.aci', { kind: 'id', value: 'sha512-abc.aci' }], // IDs first, even when it also looks like a file
    ['/abs/path/image', { kind: 'file', path: '/abs/path/image' }],
    ['./relative', { kind: 'file', path: './relative' }],
    ['dir/../image', { kind: 'file', path: 'dir/../image' }],
    ['image.aci', { kind: 'file', path: 'image.aci' }],
    ['example.com/app.aci', { kind: 'file', path: 'example.com/app.aci' }],
    ['existing-file', { kind: 'file', path: 'existing-file' }, (p) => p === 'existing-file'],
    ['file:///tmp/x.aci', { kind: 'file', path: '/tmp/x.aci' }],
    ['file:///tmp/with%20space.aci', { kind: 'file', path: '/tmp/with space.aci' }],
    ['https://example.com/app.aci', { kind: 'url', url: 'https://example.com/app.aci' }],
    ['http://example.com/app.aci', { kind: 'url', url: 'http://example.com/app.aci' }],
    ['HTTPS://example.com/app.aci', { kind: 'url', url: 'HTTPS://example.com/app.aci' }],
    ['docker://busybox', { kind: 'docker', ref: 'busybox' }],
    ['docker://registry:5000/lib/redis:7', { kind: 'docker', ref: 'registry:5000/lib/redis:7' }],
    ['docker:busybox', { kind: 'docker', ref: 'busybox' }],
    ['oci:/srv/layout', { kind: 'oci-local', transport: 'oci', path: '/srv/layout', ref: undefined }],
    ['oci:layout:v1', { kind: 'oci-local', transport: 'oci', path: 'layout', ref: 'v1' }],
    ['oci-archive:/tmp/img.tar:latest', { kind: 'oci-local', transport: 'oci-archive', path: '/tmp/img.tar', ref: 'latest' }],
    ['docker-archive:/tmp/save.tar', { kind: 'oci-local', transport: 'docker-archive', path: '/tmp/save.tar', ref: undefined }],
    ['docker-archive:/tmp/save.tar:example.com/app:1.0', { kind: 'oci-local', transport: 'docker-archive', path: '/tmp/save.tar', ref: 'example.com/app:1.0' }],
    ['example.com/app', { kind: 'name', value: 'example.com/app' }],
    ['example.com/app:1.0.0', { kind: 'name', value: 'example.com/app:1.0.0' }],
    ['coreos.com/etcd:v2.0.0,arch=amd64', { kind: 'name', value: 'coreos.com/etcd:v2.0.0,arch=amd64' }],
    ['ftp://example.com/app', { kind: 'name', value: 'ftp://example.com/app' }], // other schemes: appc name (rkt)
    ['busybox', { kind: 'name', value: 'busybox' }],
  ];
  for (const [arg, want, isFile] of cases) {
    it(`${arg} → ${want.kind}`, () => expect(classifyImageArg(arg, isFile ?? noFiles)).toEqual(want));
  }

  it('asks about existing files only for plain words', () => {
    const asked: string[] = [];
    const spy = (p: string): boolean => {
      asked.push(p);
      return false;
    };
    for (const a of ['sha512-ab', 'docker://x', 'https://x/y.aci', '/abs', 'x.aci', 'plain']) classifyImageArg(a, spy);
    expect(asked).toEqual(['plain']);
  });

  it('an empty argument is an error', () => {
    expect(() => classifyImageArg('', noFiles)).toThrow(/empty image argument/);
  });
});
