import { describe, expect, it } from 'vitest';
import { parseRunArgs } from '../../../../src/stage0/run-args/parse-run-args.js';
import { RUN_FLAGS } from '../../../../src/stage0/run-args/run-flags.js';

describe('RUN_FLAGS: the one table of run/prepare flags', () => {
  for (const [name, d] of Object.entries(RUN_FLAGS)) {
    it(`${name} has a help line${d.kind === 'bool' ? '' : ' and a value name'}`, () => {
      expect(name).toMatch(/^--[a-z0-9-]+$/);
      expect(d.help.trim().length).toBeGreaterThan(10);
      expect(d.help).not.toContain('\n');
      if (d.kind === 'bool') expect(d.value).toBeUndefined();
      else expect(d.value?.length ?? 0).toBeGreaterThan(0);
      if (d.kind === 'optional') expect(d.bare).toBeDefined();
    });
  }
});

describe('run/prepare bool flags take Go ParseBool spellings', () => {
  const IMG = 'example.com/capsule/probe';
  // Flags whose true value is refused or needs another flag: their =false must still parse.
  const needsMore: Record<string, string[]> = { '--private-users': ['--no-overlay'] };
  for (const [name, d] of Object.entries(RUN_FLAGS)) {
    if (d.kind !== 'bool' && name !== '--readonly-rootfs') continue;
    const kind = d.scope === 'pod' && d.only === 'prepare' ? 'prepare' : 'run';
    const at = (v: string): string[] => (d.scope === 'pod' ? [`${name}=${v}`, ...(needsMore[name] ?? []), IMG] : [IMG, `${name}=${v}`]);
    for (const v of ['false', 'False', 'FALSE', 'f', 'F', '0']) {
      it(`${kind} ${name}=${v}`, () => expect(() => parseRunArgs(at(v), kind)).not.toThrow());
    }
    if (name === '--store-only' || name === '--no-store') continue;
    for (const v of ['true', 'True', 'TRUE', 't', 'T', '1']) {
      it(`${kind} ${name}=${v}`, () => expect(() => parseRunArgs(at(v), kind)).not.toThrow());
    }
    it(`${kind} ${name}=yes is refused`, () => expect(() => parseRunArgs(at('yes'), kind)).toThrow(/boolean/));
  }
  it('--inherit-env=false after --inherit-env: the last one wins', () => {
    expect(parseRunArgs(['--inherit-env', '--inherit-env=0', IMG], 'run').pod.inheritEnv).toBe(false);
    expect(parseRunArgs(['--inherit-env=F', '--inherit-env=T', IMG], 'run').pod.inheritEnv).toBe(true);
  });
  it('--readonly-rootfs=false after an image', () => expect(parseRunArgs([IMG, '--readonly-rootfs=false'], 'run').apps[0]?.readOnlyRootfs).toBe(false));
});

describe('deprecated run/prepare flags warn and mean their pull policy', () => {
  const IMG = 'example.com/capsule/probe';
  for (const [flag, policy] of [['--store-only', 'never'], ['--no-store', 'update']] as const) {
    for (const kind of ['run', 'prepare'] as const) {
      it(`${kind} ${flag} → --pull-policy=${policy}, with a warning`, () => {
        const warnings: string[] = [];
        const spec = parseRunArgs([flag, IMG], kind, (m) => warnings.push(m));
        expect(spec.pod.pullPolicy).toBe(policy);
        expect(warnings).toEqual([`${flag} is deprecated: use --pull-policy=${policy}`]);
      });
    }
  }
});
