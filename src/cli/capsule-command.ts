import { Command, type Option, type ParseOptionsResult } from 'commander';
import { UsageError } from '../errors/capsule-error.js';
import { parseGoBool } from '../spec/go-bool.js';

/**
 * commander's Command with rkt's (cobra's) habits that scripts and unit files rely on:
 * - every boolean flag also takes `--flag=BOOL` in Go's ParseBool spellings (`--mark-only=false`,
 *   `--no-legend=true`, `--debug=1`); the last one given wins;
 * - commands marked `rootOnly()` refuse unprivileged users before any argument is looked at
 *   (rkt checks uid first: `run-prepared` without a UUID as a user says "cannot run as
 *   unprivileged user", not "missing argument").
 */
export class CapsuleCommand extends Command {
  /** rkt's gate for commands that change pods or collect store garbage. */
  needsRoot = false;

  override createCommand(name?: string): CapsuleCommand {
    return new CapsuleCommand(name);
  }

  rootOnly(): this {
    this.needsRoot = true;
    return this;
  }

  override parseOptions(args: string[]): ParseOptionsResult {
    return super.parseOptions(goBoolFlags(this.options, args));
  }
}

/**
 * Rewrites `--flag=BOOL` for this command's boolean options into what commander knows: `--flag`
 * for true; nothing for false (and earlier bare `--flag`s dropped, so the last one wins). Stops
 * at `--`; a word that is the value of an option taking one is left alone.
 */
export function goBoolFlags(options: readonly Option[], args: readonly string[]): string[] {
  const byLong = new Map(options.filter((o) => o.long !== undefined).map((o) => [o.long as string, o]));
  const takesValue = (a: string): boolean => {
    const o = byLong.get(a) ?? options.find((x) => x.short === a);
    return o !== undefined && o.required;
  };
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (takesValue(a) && i + 1 < args.length) {
      out.push(a, args[++i] ?? '');
      continue;
    }
    const m = /^(--[^=]+)=(.*)$/s.exec(a);
    const opt = m ? byLong.get(m[1] ?? '') : undefined;
    if (!m || !opt || opt.required || opt.optional) {
      out.push(a);
      continue;
    }
    const flag = m[1] ?? '';
    const b = parseGoBool(m[2] ?? '');
    if (b === undefined) throw new UsageError(`invalid boolean value ${JSON.stringify(m[2])} for ${flag} (want true or false)`);
    for (let j = out.lastIndexOf(flag); j >= 0; j = out.lastIndexOf(flag)) out.splice(j, 1);
    if (b) out.push(flag);
  }
  return out;
}
