import type { Interface } from 'node:readline';

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
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    stdinIsTTY: process.stdin.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    async readLine(prompt) {
      process.stderr.write(prompt);
      // Loaded on first use: most commands never ask anything (start-up cost).
      const { createInterface } = await import('node:readline');
      rl ??= createInterface({ input: process.stdin, terminal: false });
      lines ??= rl[Symbol.asyncIterator]();
      const r = await lines.next();
      if (r.done) {
        rl.close();
        return null;
      }
      return r.value;
    },
  };
}
