import { Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { goBoolFlags } from '../../../src/cli/capsule-command.js';
import { UsageError } from '../../../src/errors/capsule-error.js';

const opts = [new Option('--full'), new Option('--no-legend'), new Option('--prefix <p>'), new Option('--pretty-print [bool]')];

describe('goBoolFlags: --flag=BOOL for commander booleans', () => {
  const cases: [string[], string[]][] = [
    [['--full=true'], ['--full']],
    [['--full=1', 'x'], ['--full', 'x']],
    [['--full=T'], ['--full']],
    [['--full=false'], []],
    [['--full', '--full=0'], []],
    [['--full=f', '--full'], ['--full']],
    [['--no-legend=true'], ['--no-legend']],
    [['--no-legend=False'], []],
    // Values of options that take one, optional values, operands and everything after -- stay.
    [['--prefix', '--full=true'], ['--prefix', '--full=true']],
    [['--pretty-print=false'], ['--pretty-print=false']],
    [['--other=true', 'a=b'], ['--other=true', 'a=b']],
    [['--', '--full=false'], ['--', '--full=false']],
  ];
  for (const [input, want] of cases) it(`${input.join(' ')} → ${want.join(' ') || '(nothing)'}`, () => expect(goBoolFlags(opts, input)).toEqual(want));
  for (const bad of ['yes', 'no', '', 'on', '2']) {
    it(`--full=${bad} is a usage error`, () => {
      expect(() => goBoolFlags(opts, [`--full=${bad}`])).toThrow(UsageError);
      expect(() => goBoolFlags(opts, [`--full=${bad}`])).toThrow(`invalid boolean value ${JSON.stringify(bad)} for --full (want true or false)`);
    });
  }
});
