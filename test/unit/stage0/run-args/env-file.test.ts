import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../../src/errors/capsule-error.js';
import { parseEnvFile } from '../../../../src/stage0/run-args/env-file.js';

describe('--set-env-file format', () => {
  const good: [string, string, Array<[string, string]>][] = [
    ['empty file', '', []],
    ['one variable', 'A=1\n', [['A', '1']]],
    ['no final newline', 'A=1', [['A', '1']]],
    ['order kept', 'B=2\nA=1\n', [['B', '2'], ['A', '1']]],
    ['value verbatim: =, spaces, quotes', 'A=x=y\nB= spaced \nC="q"\n', [['A', 'x=y'], ['B', ' spaced '], ['C', '"q"']]],
    ['empty value', 'A=\n', [['A', '']]],
    ['comments and blank lines', '# comment\n; also\n\n   \nA=1\n#B=2\n', [['A', '1']]],
    ['CRLF line ends', 'A=1\r\nB=2\r\n', [['A', '1'], ['B', '2']]],
    ['names are not restricted (rkt)', 'my.var-1=x\n', [['my.var-1', 'x']]],
  ];
  for (const [what, text, want] of good) it(what, () => expect(parseEnvFile(text, '/etc/app.env')).toEqual(want));

  const bad: [string, string, string][] = [
    ['no =', 'A=1\nJUSTANAME\n', '/etc/app.env:2: environment variable must be specified as name=value'],
    ['empty name', '\n=1\n', '/etc/app.env:2: environment variable must be specified as name=value'],
    ['indented comment is not a comment', '  # x\n', '/etc/app.env:1: environment variable must be specified as name=value'],
    ['duplicate', 'A=1\n# c\nA=2\n', '/etc/app.env:3: environment variable "A" already set'],
    ['NUL', 'A=x\0y\n', '/etc/app.env:1: environment variable contains a NUL character'],
  ];
  for (const [what, text, msg] of bad) {
    it(`rejects: ${what}`, () => {
      expect(() => parseEnvFile(text, '/etc/app.env')).toThrow(UsageError);
      expect(() => parseEnvFile(text, '/etc/app.env')).toThrow(msg);
    });
  }
});
