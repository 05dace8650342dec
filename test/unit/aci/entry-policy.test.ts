import { describe, expect, it } from 'vitest';
import { checkEntryKind, classifyEntry, classifyLinkTarget, DEFAULT_LIMITS, type ExtractLimits } from '../../../src/aci/entry-policy.js';
import type { EntryType } from '../../../src/aci/tar-reader.js';
import { CapsuleError } from '../../../src/errors/capsule-error.js';

/** The error a policy function throws (fails the test when it does not throw). */
function refusal(f: () => unknown): CapsuleError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CapsuleError);
    return e as CapsuleError;
  }
  throw new Error('expected a refusal, got none');
}

describe('classifyEntry: where an entry goes', () => {
  it.each<[string, EntryType, ReturnType<typeof classifyEntry>]>([
    ['manifest', 'file', { kind: 'manifest' }],
    ['./manifest', 'file', { kind: 'manifest' }],
    ['rootfs', 'directory', { kind: 'rootfs-dir' }],
    ['rootfs/', 'directory', { kind: 'rootfs-dir' }],
    ['./rootfs/', 'directory', { kind: 'rootfs-dir' }],
    ['rootfs//', 'directory', { kind: 'rootfs-dir' }],
    ['rootfs/etc/passwd', 'file', { kind: 'rootfs', rel: 'etc/passwd' }],
    ['./rootfs/etc/', 'directory', { kind: 'rootfs', rel: 'etc' }],
    ['rootfs/a b/ü…', 'file', { kind: 'rootfs', rel: 'a b/ü…' }],
    ['rootfs/..a/b..', 'file', { kind: 'rootfs', rel: '..a/b..' }],
    ['rootfs/.hidden', 'symlink', { kind: 'rootfs', rel: '.hidden' }],
    ['rootfs/manifest', 'file', { kind: 'rootfs', rel: 'manifest' }],
  ])('%j (%s) → %j', (p, type, want) => {
    expect(classifyEntry({ path: p, type })).toEqual(want);
  });
});

describe('classifyEntry: refusals name the problem', () => {
  it.each<[string, EntryType, RegExp]>([
    ['/rootfs/x', 'file', /^absolute entry name "\/rootfs\/x"$/],
    ['/etc/passwd', 'file', /^absolute entry name/],
    ['../x', 'file', /contains "\.\."/],
    ['rootfs/../../victim/x', 'file', /^entry name "rootfs\/\.\.\/\.\.\/victim\/x" contains "\.\."$/],
    ['rootfs/a/..', 'directory', /contains "\.\."/],
    ['./../rootfs/x', 'file', /contains "\.\."/],
    ['rootfs//x', 'file', /has an empty or "\." component/],
    ['rootfs/./x', 'file', /has an empty or "\." component/],
    ['.', 'directory', /has an empty or "\." component/],
    ['', 'file', /has an empty or "\." component/],
    ['rootfs/a\0b', 'file', /contains a NUL byte/],
    ['manifest', 'directory', /^manifest is not a regular file$/],
    ['manifest', 'symlink', /^manifest is not a regular file$/],
    ['rootfs', 'file', /^rootfs is not a directory$/],
    ['rootfs', 'symlink', /^rootfs is not a directory$/],
    ['extra', 'file', /^unrecognized file path in layout: "extra"$/],
    ['rootfsx/y', 'file', /unrecognized file path in layout/],
    ['manifest/x', 'file', /unrecognized file path in layout/],
    ['ROOTFS/x', 'file', /unrecognized file path in layout/],
  ])('%j (%s) is refused: %s', (p, type, problem) => {
    const e = refusal(() => classifyEntry({ path: p, type }));
    expect(e.code).toBe('hostile-image');
    expect(e.message).toMatch(problem);
  });
});

describe('classifyEntry: limits, at and past each boundary', () => {
  const small: ExtractLimits = { maxPathBytes: 20, maxComponentBytes: 6, maxDepth: 3, maxEntries: 10 };

  it.each<[string, boolean]>([
    ['rootfs/aaaa/bbbb/cc', true], // 19 bytes
    ['rootfs/aaaa/bbbb/ccc', true], // 20 bytes
    ['rootfs/aaaa/bbbb/cccc', false], // 21 bytes
  ])('path bytes: %j accepted=%s', (p, ok) => {
    const limits = { ...small, maxComponentBytes: 6, maxDepth: 10 };
    if (ok) expect(classifyEntry({ path: p, type: 'file' }, limits)).toMatchObject({ kind: 'rootfs' });
    else expect(refusal(() => classifyEntry({ path: p, type: 'file' }, limits)).message).toMatch(/is longer than 20 bytes/);
  });

  it('counts bytes, not characters', () => {
    expect(classifyEntry({ path: 'rootfs/ééé', type: 'file' }, small)).toEqual({ kind: 'rootfs', rel: 'ééé' }); // 3 characters, 6 bytes
    expect(refusal(() => classifyEntry({ path: 'rootfs/éééé', type: 'file' }, small)).message).toMatch(/has a component longer than 6 bytes/);
  });

  it('depth counts rootfs itself', () => {
    expect(classifyEntry({ path: 'rootfs/a/b', type: 'file' }, small)).toEqual({ kind: 'rootfs', rel: 'a/b' });
    expect(refusal(() => classifyEntry({ path: 'rootfs/a/b/c', type: 'file' }, small)).message).toMatch(/is nested deeper than 3 levels/);
  });

  it('defaults: 4096-byte names, 255-byte components, 128 levels', () => {
    expect(DEFAULT_LIMITS).toMatchObject({ maxPathBytes: 4096, maxComponentBytes: 255, maxDepth: 128 });
    expect(classifyEntry({ path: `rootfs/${'a'.repeat(255)}`, type: 'file' })).toMatchObject({ kind: 'rootfs' });
    expect(refusal(() => classifyEntry({ path: `rootfs/${'a'.repeat(256)}`, type: 'file' })).message).toMatch(/component longer than 255 bytes/);
    expect(classifyEntry({ path: `rootfs/${'a/'.repeat(126)}f`, type: 'file' })).toMatchObject({ kind: 'rootfs' });
    expect(refusal(() => classifyEntry({ path: `rootfs/${'a/'.repeat(127)}f`, type: 'file' })).message).toMatch(/nested deeper than 128 levels/);
    const long = `rootfs/${`${'x'.repeat(254)}/`.repeat(16)}`; // 4087 bytes
    expect(classifyEntry({ path: `${long}${'y'.repeat(9)}`, type: 'file' })).toMatchObject({ kind: 'rootfs' });
    expect(refusal(() => classifyEntry({ path: `${long}${'y'.repeat(10)}`, type: 'file' })).message).toMatch(/longer than 4096 bytes/);
  });

  it('abbreviates a huge name in the message', () => {
    const e = refusal(() => classifyEntry({ path: `rootfs/${'x'.repeat(10_000)}`, type: 'file' }));
    expect(e.message.length).toBeLessThan(300);
    expect(e.message).toContain('…');
  });
});

describe('checkEntryKind', () => {
  const entry = (type: EntryType, mode: number, rawType = 'File'): { path: string; type: EntryType; mode: number; rawType: string } => ({ path: 'rootfs/x', type, mode, rawType });

  it.each<[EntryType, number]>([
    ['file', 0o644],
    ['file', 0o1755], // sticky bit: no privilege
    ['directory', 0o755],
    ['directory', 0o2775], // setgid directories only set the group of new files
    ['directory', 0o1777],
    ['symlink', 0o777],
    ['hardlink', 0o644],
  ])('allows %s with mode %o', (type, mode) => {
    expect(() => checkEntryKind(entry(type, mode))).not.toThrow();
  });

  it.each<[EntryType, number, string, RegExp]>([
    ['char', 0o666, 'CharacterDevice', /^device node "rootfs\/x" is not allowed in an image/],
    ['block', 0o660, 'BlockDevice', /^device node "rootfs\/x" is not allowed in an image/],
    ['fifo', 0o644, 'FIFO', /^FIFO "rootfs\/x" is not allowed/],
    ['other', 0o644, 'GNUSparseFile', /unsupported tar type "GNUSparseFile"/],
    ['file', 0o4755, 'File', /has the setuid bit set/],
    ['file', 0o2755, 'File', /has the setgid bit set/],
    ['file', 0o6755, 'File', /has the setuid bit set/],
    ['hardlink', 0o4755, 'Link', /has the setuid bit set/],
  ])('refuses %s with mode %o (%s)', (type, mode, rawType, problem) => {
    const e = refusal(() => checkEntryKind(entry(type, mode, rawType)));
    expect(e.code).toBe('hostile-image');
    expect(e.message).toMatch(problem);
  });
});

describe('classifyLinkTarget', () => {
  it.each([
    ['rootfs/bin/sh', 'bin/sh'],
    ['./rootfs/bin/sh', 'bin/sh'],
  ])('%j names %j inside rootfs', (target, rel) => {
    expect(classifyLinkTarget(target)).toBe(rel);
  });

  it.each([
    ['../../victim/secret', /^hardlink target "\.\.\/\.\.\/victim\/secret" contains "\.\."$/],
    ['rootfs/../../../etc/shadow', /^hardlink target ".*" contains "\.\."$/],
    ['/etc/shadow', /^absolute hardlink target "\/etc\/shadow"$/],
    ['manifest', /^hardlink target "manifest" is outside rootfs\/$/],
    ['rootfs', /^rootfs is not a directory$/],
    ['', /empty/],
  ])('%j is refused: %s', (target, problem) => {
    const e = refusal(() => classifyLinkTarget(target));
    expect(e.code).toBe('hostile-image');
    expect(e.message).toMatch(problem);
  });
});
