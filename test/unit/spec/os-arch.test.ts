import { describe, expect, it } from 'vitest';
import { parseLabels } from '../../../src/spec/image-manifest.js';
import { checkRunnablePlatform, hostOsArch, validateOsArch, VALID_OS_ARCH } from '../../../src/spec/os-arch.js';

describe('os/arch labels (appc ValidOSArch)', () => {
  const good: [string, string | undefined][] = [
    ['linux', undefined],
    ['linux', 'amd64'],
    ['linux', 'aarch64'],
    ['linux', 'armv7l'],
    ['linux', 's390x'],
    ['freebsd', 'arm'],
    ['darwin', 'x86_64'],
  ];
  for (const [os, arch] of good) it(`accepts ${os}/${arch ?? '-'}`, () => expect(() => validateOsArch(os, arch)).not.toThrow());

  const bad: [string, string | undefined, RegExp][] = [
    ['windows', undefined, /^bad os "windows" \(must be one of: linux, freebsd, darwin\)/],
    ['OS/360', 'amd64', /bad os/],
    ['Linux', 'amd64', /bad os/],
    ['linux', 'arm64', /^bad arch "arm64" for linux/],
    ['linux', 'arm', /bad arch/],
    ['linux', 'ppc64l', /bad arch/],
    ['linux', 'S390x', /bad arch/],
    ['linux', 'x86_64', /bad arch/],
    ['freebsd', 'armv7b', /bad arch "armv7b" for freebsd/],
    ['darwin', 'amd64', /bad arch/],
  ];
  for (const [os, arch, why] of bad) it(`rejects ${os}/${arch ?? '-'}`, () => expect(() => validateOsArch(os, arch)).toThrow(why));

  it('an arch without an os is not checked (appc reference behaviour)', () => {
    expect(() => validateOsArch(undefined, 'anything')).not.toThrow();
  });

  it('the host maps to a valid appc os/arch pair', () => {
    const { os, arch } = hostOsArch();
    expect(os).toBe('linux');
    expect(VALID_OS_ARCH.linux).toContain(arch);
  });
});

describe('labels', () => {
  it('keeps order and values', () => {
    const l = [{ name: 'version', value: '1.0' }, { name: 'os', value: 'linux' }, { name: 'arch', value: 'amd64' }, { name: 'example.com/channel', value: '' }];
    expect(parseLabels(l)).toEqual(l);
  });
  it('checks os/arch together, naming the labels field', () => {
    expect(() => parseLabels([{ name: 'arch', value: 'arm64' }, { name: 'os', value: 'linux' }], 'dependencies[2].labels')).toThrow(/^dependencies\[2\]\.labels: bad arch "arm64" for linux/);
  });
  it('rejects duplicates and the reserved name "name"', () => {
    expect(() => parseLabels([{ name: 'os', value: 'linux' }, { name: 'os', value: 'linux' }])).toThrow(/duplicate labels of name "os"/);
    expect(() => parseLabels([{ name: 'name', value: 'x' }])).toThrow(/invalid label name: "name"/);
  });
  it('rejects non-list and non-object entries', () => {
    expect(() => parseLabels({ os: 'linux' })).toThrow(/^labels: must be a list/);
    expect(() => parseLabels(['os=linux'])).toThrow(/^labels\[0\]: must be an object/);
  });
});

describe('checkRunnablePlatform (rkt: app images must name the host os and arch)', () => {
  const host = { os: 'linux', arch: 'amd64' };
  const cases: Array<[Record<string, string>, string | null]> = [
    [{ os: 'linux', arch: 'amd64' }, null],
    [{ arch: 'amd64' }, 'missing os label in the image manifest'],
    [{ os: 'linux' }, 'missing arch label in the image manifest'],
    [{}, 'missing os label in the image manifest'],
    [{ os: 'freebsd', arch: 'amd64' }, 'bad os "freebsd" (must be one of: linux)'],
    [{ os: 'linux', arch: 'aarch64' }, 'bad arch "aarch64" for linux (must be one of: amd64)'],
  ];
  for (const [labels, want] of cases) {
    it(`${JSON.stringify(labels)} → ${want ?? 'ok'}`, () => {
      if (want === null) expect(() => checkRunnablePlatform(labels, host)).not.toThrow();
      else expect(() => checkRunnablePlatform(labels, host)).toThrow(want);
    });
  }
});
