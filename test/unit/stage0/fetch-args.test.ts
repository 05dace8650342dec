import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors/capsule-error.js';
import { pairSignatures } from '../../../src/stage0/fetch-args.js';

const VALUE = new Set(['--pull-policy']);

describe('pairSignatures: one file per --signature', () => {
  const cases: [string, string[], { arg: string; signature?: string }[]][] = [
    ['no signature', ['a.aci', 'b.aci'], [{ arg: 'a.aci' }, { arg: 'b.aci' }]],
    ['before the image (the spelling the variadic flag swallowed)', ['--signature', 'a.asc', 'a.aci'], [{ arg: 'a.aci', signature: 'a.asc' }]],
    ['--signature=F before the image', ['--signature=a.asc', 'a.aci'], [{ arg: 'a.aci', signature: 'a.asc' }]],
    ['repeated before several images, in order', ['--signature', 'a.asc', '--signature=b.asc', 'a.aci', 'b.aci'], [{ arg: 'a.aci', signature: 'a.asc' }, { arg: 'b.aci', signature: 'b.asc' }]],
    ["rkt's: after its image", ['a.aci', '--signature', 'a.asc', 'b.aci', '--signature', 'b.asc'], [{ arg: 'a.aci', signature: 'a.asc' }, { arg: 'b.aci', signature: 'b.asc' }]],
    ["rkt's: only some images", ['a.aci', 'b.aci', '--signature', 'b.asc'], [{ arg: 'a.aci' }, { arg: 'b.aci', signature: 'b.asc' }]],
    ['other flags and their values are not images', ['--full', '--pull-policy', 'never', 'a.aci', '--pull-policy=new'], [{ arg: 'a.aci' }]],
  ];
  for (const [what, argv, want] of cases) it(what, () => expect(pairSignatures(argv, VALUE)).toEqual(want));

  const errors: [string[], string][] = [
    [['--signature', 'a.asc', 'a.aci', 'b.aci'], '--signature given 1 time(s) before 2 image(s)'],
    [['--signature', 'a.asc', '--signature', 'b.asc', 'a.aci'], '--signature given 2 time(s) before 1 image(s)'],
    [['--signature', 'a.asc', 'a.aci', 'b.aci', '--signature', 'b.asc'], 'not both'],
    [['a.aci', '--signature', 'x', '--signature', 'y'], '--signature given twice for "a.aci"'],
    [['a.aci', '--signature'], 'flag needs an argument: --signature'],
    [['a.aci', '--', 'x'], 'app arguments unsupported'],
  ];
  for (const [argv, msg] of errors) {
    it(`${argv.join(' ')} → ${msg}`, () => {
      expect(() => pairSignatures(argv, VALUE)).toThrow(UsageError);
      expect(() => pairSignatures(argv, VALUE)).toThrow(msg);
    });
  }
});
