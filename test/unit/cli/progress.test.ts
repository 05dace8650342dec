import { describe, expect, it } from 'vitest';
import { progressBar } from '../../../src/cli/progress.js';
import type { Io } from '../../../src/cli/io.js';

function tty(): { io: Io; text: () => string } {
  let err = '';
  const io = { out: () => undefined, err: (s: string) => void (err += s), stderrIsTTY: true } as unknown as Io;
  return { io, text: () => err };
}

/** What a terminal shows: cursor up/down, carriage return then a rewrite (the bar always ends its text with erase-to-end-of-line). */
function screen(s: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  for (let i = 0; i < s.length; ) {
    const m = new RegExp(`^${String.fromCharCode(27)}\\[(\\d*)([ABK])`).exec(s.slice(i));
    if (m) {
      const n = Number(m[1] || '1');
      if (m[2] === 'A') row -= n;
      else if (m[2] === 'B') row += n;
      while (lines.length <= row) lines.push('');
      i += m[0].length;
      continue;
    }
    const c = s[i++]!;
    if (c === '\r') lines[row] = '';
    else if (c === '\n') {
      row++;
      while (lines.length <= row) lines.push('');
    } else lines[row] = `${lines[row] ?? ''}${c}`;
  }
  return lines.filter((l) => l !== '');
}

describe('progress lines on a terminal', () => {
  it('bars running at once keep one line each', () => {
    const { io, text } = tty();
    const a = progressBar(io, 'layer a', 1_000_000);
    const b = progressBar(io, 'layer b', 2_000_000);
    b.add(2_000_000);
    b.done();
    a.add(500_000);
    a.done();
    expect(screen(text())).toEqual([
      'Downloading layer a: [===============               ] 0.50 MB/1.00 MB',
      'Downloading layer b: [==============================] 2.00 MB/2.00 MB',
    ]);
  });
  it('draws nothing without a terminal', () => {
    let err = '';
    const io = { err: (s: string) => void (err += s), stderrIsTTY: false } as unknown as Io;
    const p = progressBar(io, 'x', 10);
    p.add(10);
    p.done();
    expect(err).toBe('');
  });
});
