import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { handoverScript, shellQuote } from '../../../src/stage0/handover.js';

describe('handover to stage1', () => {
  it('quotes every word so the shell expands nothing', () => {
    expect(shellQuote(`it's $HOME`)).toBe(`'it'\\''s $HOME'`);
  });

  it('a sourced snippet enters the pod dir and execs argv exactly, with its env and the file to remove', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-handover-'));
    try {
      const weird = path.join(dir, `pod 'x' $y`);
      fs.mkdirSync(weird);
      const file = path.join(dir, 'h');
      fs.writeFileSync(file, handoverScript({ cwd: weird, argv: ['/bin/sh', '-c', 'pwd; printf "%s|" "$@"; echo "$K"; echo "$CAPSULE_HANDOVER_DONE"', 'sh', `a b`, `'`, '$HOME'], env: { K: `v 'w'` } }, file));
      const out = execFileSync('/bin/sh', ['-c', `. '${file}'`], { encoding: 'utf8' });
      expect(out).toBe(`${weird}\na b|'|$HOME|v 'w'\n${file}\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses environment names the shell could misread', () => {
    expect(() => handoverScript({ cwd: '/', argv: ['/bin/true'], env: { 'A;rm': 'x' } }, '/h')).toThrow(/bad environment name/);
  });
});
