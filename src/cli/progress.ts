import type { Io } from './io.js';

/** The progress lines one terminal shows: each bar owns a line, counted from the first. */
interface Board {
  lines: number;
  active: number;
}
const boards = new WeakMap<Io, Board>();

/**
 * A stderr progress line, drawn only on a TTY and at most every 100 ms. Bars that run at the same
 * time (an OCI image's layers download several at once) each get a line of their own: a bar
 * reserves its line when it starts and redraws it in place (cursor up, rewrite, cursor back
 * down), so the cursor always rests below every bar and other output follows them.
 */
export function progressBar(io: Io, label: string, total: number | undefined): { add(n: number): void; done(): void } {
  if (!io.stderrIsTTY) return { add: () => undefined, done: () => undefined };
  let board = boards.get(io);
  if (!board || board.active === 0) {
    board = { lines: 0, active: 0 };
    boards.set(io, board);
  }
  const b = board;
  const line = b.lines++;
  b.active++;
  let seen = 0;
  let last = 0;
  let finished = false;
  const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;
  const text = (): string => {
    if (total && total > 0) {
      const w = 30;
      const fill = Math.min(w, Math.round((seen / total) * w));
      return `Downloading ${label}: [${'='.repeat(fill)}${' '.repeat(w - fill)}] ${mb(seen)}/${mb(total)}`;
    }
    return `Downloading ${label}: ${mb(seen)} of an unknown total size`;
  };
  const draw = (): void => {
    const up = b.lines - line;
    io.err(`\x1b[${up}A\r${text()}\x1b[K\x1b[${up}B\r`);
  };
  io.err(`${text()}\n`);
  return {
    add(n) {
      seen += n;
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        draw();
      }
    },
    done() {
      if (finished) return;
      finished = true;
      draw();
      b.active--;
    },
  };
}
