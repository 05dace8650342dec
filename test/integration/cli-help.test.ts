import { describe, expect, it } from 'vitest';
import { runCapsule } from '../helpers/cli.js';
import { RUN_FLAGS } from '../../src/stage0/run-args/run-flags.js';

/** The help text's lines for one flag: the term starts the line (after the indent). */
function helpLineFor(help: string, flag: string): string | undefined {
  return help.split('\n').find((l) => new RegExp(`^  ${flag.replace(/[-[\]]/g, '\\$&')}(\\[=| <|  |$)`).test(l));
}

describe('run and prepare --help list every flag of the table', () => {
  for (const kind of ['run', 'prepare'] as const) {
    it(`capsule ${kind} --help: one line per pod and app flag, with its help`, async () => {
      const r = await runCapsule([kind, '--help']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('Pod flags (before the first image):');
      expect(r.stdout).toContain('App flags (after their image):');
      for (const [flag, d] of Object.entries(RUN_FLAGS)) {
        const applies = d.scope === 'app' || d.only === undefined || d.only === kind;
        const line = helpLineFor(r.stdout, flag);
        if (!applies) {
          expect(line, `${kind} --help must not list ${flag}`).toBeUndefined();
          continue;
        }
        expect(line, `${kind} --help lists ${flag}`).toBeDefined();
        // The first words of the help line follow the term.
        expect(r.stdout.replace(/\s+/g, ' '), flag).toContain(d.help.split(' ').slice(0, 4).join(' '));
      }
      expect(r.stdout).toContain('Global Options:');
      expect(helpLineFor(r.stdout, '--dir')).toBeDefined();
    });
  }
});
