import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Interface } from 'node:readline';
import type * as Tty from 'node:tty';

/** Everything a command may say or ask; tests pass a recording Io. */
export interface Io {
  out(s: string): void;
  err(s: string): void;
  readonly stdinIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  /** One line from stdin, or null at end of input. */
  readLine(prompt: string): Promise<string | null>;
}

export function processIo(): Io {
  let rl: Interface | undefined;
  let lines: AsyncIterator<string> | undefined;
  return {
    out: (s) => writeFd(1, s),
    err: (s) => writeFd(2, s),
    get stdinIsTTY() {
      return isatty(0);
    },
    get stderrIsTTY() {
      return isatty(2);
    },
    async readLine(prompt) {
      writeFd(2, prompt);
      // Loaded on first use: most commands never ask anything (start-up cost).
      const { createInterface } = await import('node:readline');
      rl ??= createInterface({ input: process.stdin, terminal: false });
      lines ??= rl[Symbol.asyncIterator]();
      rl.resume();
      const r = await lines.next();
      if (r.done) {
        rl.close();
        return null;
      }
      // Stop reading between questions: a reading terminal keeps Node running after the last
      // answer until end of input (^D).
      rl.pause();
      return r.value;
    },
  };
}

/**
 * Writes straight to a file descriptor: creating process.stdout/stderr loads Node's stream, net
 * and tty machinery, a large share of a short command's run time. Retries while a non-blocking
 * pipe is full.
 */
function writeFd(fd: number, s: string): void {
  const buf = Buffer.from(s);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/** node:tty pulls in net and streams; load it only when a command asks about terminals. */
function isatty(fd: number): boolean {
  const tty = createRequire(import.meta.url)('node:tty') as typeof Tty;
  return tty.isatty(fd);
}
