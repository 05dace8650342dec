import { describe, expect, it } from 'vitest';
import { isAfterRun, lockMatters, POD_DIRS, stateName, TRANSITIONS } from '../../../../src/stage0/pod/pod-state.js';
import { isPodUuid, matchUuid, newPodUuid } from '../../../../src/stage0/pod/pod-uuid.js';

describe('pod state names (rkt: directory + lock)', () => {
  it.each([
    ['embryo', false, 'embryo'],
    ['embryo', true, 'embryo'],
    ['prepare', true, 'preparing'],
    ['prepare', false, 'aborted prepare'],
    ['prepared', false, 'prepared'],
    ['prepared', true, 'prepared'],
    ['run', true, 'running'],
    ['run', false, 'exited'],
    ['exited-garbage', true, 'exited deleting'],
    ['exited-garbage', false, 'exited garbage'],
    ['garbage', true, 'deleting'],
    ['garbage', false, 'garbage'],
  ] as const)('%s, locked=%s → %s', (dir, locked, name) => {
    expect(stateName(dir, locked)).toBe(name);
  });

  it('only embryo and prepared need no lock test', () => {
    expect(POD_DIRS.filter((d) => !lockMatters(d))).toEqual(['embryo', 'prepared']);
  });

  it('after-run states are those a pod reaches once it ran or was thrown away', () => {
    const after = (['embryo', 'preparing', 'aborted prepare', 'prepared', 'running', 'deleting', 'exited deleting', 'exited', 'exited garbage', 'garbage'] as const).filter(isAfterRun);
    expect(after).toEqual(['deleting', 'exited deleting', 'exited', 'exited garbage', 'garbage']);
  });

  it('transitions only go forward', () => {
    for (const [from, tos] of Object.entries(TRANSITIONS)) {
      for (const to of tos) expect(POD_DIRS.indexOf(to)).toBeGreaterThan(POD_DIRS.indexOf(from as (typeof POD_DIRS)[number]));
    }
  });
});

describe('pod UUIDs', () => {
  it('new ones are random lower-case v4 UUIDs', () => {
    const a = newPodUuid();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(isPodUuid(a)).toBe(true);
    expect(newPodUuid()).not.toBe(a);
    expect(isPodUuid('not-a-uuid')).toBe(false);
    expect(isPodUuid(a.toUpperCase())).toBe(false);
  });

  const pods = ['5bc080ca-1111-4111-8111-111111111111', '5bc0aaaa-2222-4222-8222-222222222222', 'deadbeef-3333-4333-8333-333333333333'];

  it('a unique prefix resolves, case-insensitively, and so does the whole UUID', () => {
    expect(matchUuid(pods, 'de')).toBe(pods[2]);
    expect(matchUuid(pods, 'DEADBEEF')).toBe(pods[2]);
    expect(matchUuid(pods, '5bc080')).toBe(pods[0]);
    expect(matchUuid(pods, pods[1]!)).toBe(pods[1]);
    expect(matchUuid(pods, '  5bc0a \n')).toBe(pods[1]);
  });

  it("rkt's errors: no match, ambiguous, empty", () => {
    expect(() => matchUuid(pods, 'ff')).toThrow('no matches found for "ff"');
    expect(() => matchUuid(pods, '5bc0')).toThrow('ambiguous uuid, 2 matches');
    expect(() => matchUuid(pods, '')).toThrow('UUID cannot be empty');
  });

  it('a pod seen twice (mid-rename) counts once', () => {
    expect(matchUuid([pods[0]!, pods[0]!], '5b')).toBe(pods[0]);
  });
});
