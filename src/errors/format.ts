import { terminalSafeLines } from './terminal-text.js';
import { CapsuleError, errorChain, isSystemError, messageOf } from './capsule-error.js';

/** True when `e` is something a user can cause (exit 254, one line), false when it is a bug. */
export function isUserFacing(e: unknown): boolean {
  return e instanceof CapsuleError || isSystemError(e);
}

/**
 * `<command>: <what failed>: <innermost cause>` on one line; hints in parentheses.
 * With `debug`, the whole chain, one cause per line, like rkt's `└─`.
 */
export function formatError(command: string, e: unknown, debug: boolean): string {
  const chain = errorChain(e);
  const outer = chain[0];
  const inner = chain[chain.length - 1];
  const hint = chain.map((c) => (c instanceof CapsuleError ? c.hint : undefined)).find((h) => h !== undefined);
  const prefix = command ? `${command}: ` : '';
  if (!isUserFacing(e)) {
    const stack = e instanceof Error && debug ? `\n${e.stack ?? ''}` : '';
    return `${prefix}internal error (this is a bug): ${terminalSafeLines(messageOf(outer))}${stack}`;
  }
  if (debug) {
    const lines = chain.map((c, i) => (i === 0 ? `${prefix}${terminalSafeLines(messageOf(c))}` : `${'  '.repeat(i - 1)}└─${terminalSafeLines(messageOf(c))}`));
    if (hint) lines.push(`hint: ${hint}`);
    return lines.join('\n');
  }
  // Outermost (what failed), the deepest Capsule explanation, then the root cause from below us.
  const parts = [messageOf(outer)];
  const deepest = [...chain].reverse().find((c) => c instanceof CapsuleError);
  if (deepest !== undefined && deepest !== outer) parts.push(messageOf(deepest));
  if (inner !== outer && inner !== deepest) parts.push(messageOf(inner));
  // One line, inert on a terminal: messages quote names and text from images and keys.
  return `${prefix}${terminalSafeLines(parts.join(': '))}${hint ? ` (${terminalSafeLines(hint)})` : ''}`;
}
