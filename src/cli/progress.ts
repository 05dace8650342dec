import type { Io } from './io.js';

/** A stderr progress bar, drawn only on a TTY and at most every 100 ms. */
export function progressBar(io: Io, label: string, total: number | undefined): { add(n: number): void; done(): void } {
  if (!io.stderrIsTTY) return { add: () => undefined, done: () => undefined };
  let seen = 0;
  let last = 0;
  const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;
  const draw = (): void => {
    if (total && total > 0) {
      const w = 30;
      const fill = Math.min(w, Math.round((seen / total) * w));
      io.err(`\rDownloading ${label}: [${'='.repeat(fill)}${' '.repeat(w - fill)}] ${mb(seen)}/${mb(total)}`);
    } else io.err(`\rDownloading ${label}: ${mb(seen)} of an unknown total size`);
  };
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
      draw();
      io.err('\n');
    },
  };
}
