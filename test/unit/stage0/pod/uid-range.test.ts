import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allocateUidRange, releasePodUidRanges, releaseUidRange, UID_RANGE_SIZE } from '../../../../src/stage0/pod/uid-range.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-ap-uidr-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('uid ranges for --private-users', () => {
  it('gives disjoint 64 Ki ranges: a base another pod holds is skipped', () => {
    const d = tmp();
    const picks = [0x2000, 0x2000, 0x2001];
    const pick = (): number => picks.shift() ?? 0x3000;
    const a = allocateUidRange(d, 'pod-a', pick);
    const b = allocateUidRange(d, 'pod-b', pick);
    expect(a).toEqual({ base: 0x2000 * UID_RANGE_SIZE, size: UID_RANGE_SIZE });
    expect(b).toEqual({ base: 0x2001 * UID_RANGE_SIZE, size: UID_RANGE_SIZE });
    expect(fs.readFileSync(path.join(d, 'uid-ranges', String(a.base)), 'utf8')).toBe('pod-a\n');
  });

  it('the default picks stay within 0x10000000 … 0x6fffffff', () => {
    const d = tmp();
    for (let i = 0; i < 20; i++) {
      const r = allocateUidRange(d, `pod-${i}`);
      expect(r.base).toBeGreaterThanOrEqual(0x10000000);
      expect(r.base + r.size).toBeLessThanOrEqual(0x70000000);
    }
  });

  it('release frees only the pod\'s own range', () => {
    const d = tmp();
    const r = allocateUidRange(d, 'pod-a', () => 0x2000);
    releaseUidRange(d, 'pod-b', r);
    expect(fs.existsSync(path.join(d, 'uid-ranges', String(r.base)))).toBe(true);
    releaseUidRange(d, 'pod-a', r);
    expect(fs.existsSync(path.join(d, 'uid-ranges', String(r.base)))).toBe(false);
    expect(allocateUidRange(d, 'pod-c', () => 0x2000).base).toBe(r.base);
  });

  it('releasePodUidRanges frees every range naming the pod, and only those', () => {
    const d = tmp();
    const picks = [0x2000, 0x2001, 0x2002];
    const pick = (): number => picks.shift() ?? 0x3000;
    const a1 = allocateUidRange(d, 'pod-a', pick);
    const b = allocateUidRange(d, 'pod-b', pick);
    const a2 = allocateUidRange(d, 'pod-a', pick);
    expect(releasePodUidRanges(d, 'pod-a')).toBe(2);
    expect(fs.readdirSync(path.join(d, 'uid-ranges'))).toEqual([String(b.base)]);
    expect([a1.base, a2.base]).not.toContain(b.base);
    expect(releasePodUidRanges(d, 'pod-a')).toBe(0);
    expect(releasePodUidRanges(tmp(), 'pod-a')).toBe(0);
  });

  it('gives up with a clear error when every pick is taken', () => {
    const d = tmp();
    allocateUidRange(d, 'pod-a', () => 0x2000);
    expect(() => allocateUidRange(d, 'pod-b', () => 0x2000)).toThrow(/no free user namespace range in .*uid-ranges after 64 tries/);
  });
});
