import { Help, Option, type Command } from 'commander';
import { RUN_FLAGS, type RunFlagDef } from '../stage0/run-args/run-flags.js';

/**
 * `run` and `prepare` walk their argv themselves (per-app flags follow their image), so their
 * flags are not commander options. Their help, man pages and completion come from the flag table
 * (stage0/run-args/run-flags.ts) through these Option objects, made for display only.
 */

export const POD_FLAGS_HEADING = 'Pod flags (before the first image):';
export const APP_FLAGS_HEADING = 'App flags (after their image):';

/** The table's flags a command accepts, in table order. */
export function runFlagsFor(kind: 'run' | 'prepare'): Array<[string, RunFlagDef]> {
  return Object.entries(RUN_FLAGS).filter(([, d]) => d.scope === 'app' || d.only === undefined || d.only === kind);
}

/** How a flag is written: `--volume <NAME,…>`, `--net[=NET…]`, `--inherit-env`. */
export function runFlagTerm(name: string, d: RunFlagDef): string {
  if (d.kind === 'bool') return name;
  if (d.kind === 'optional') return `${name}[=${d.value ?? 'VALUE'}]`;
  return `${name} <${d.value ?? 'VALUE'}>`;
}

function displayOption(name: string, d: RunFlagDef): Option {
  const o = new Option(d.kind === 'bool' ? name : d.kind === 'optional' ? `${name} [value]` : `${name} <value>`, d.help);
  o.helpGroup(d.scope === 'pod' ? POD_FLAGS_HEADING : APP_FLAGS_HEADING);
  if (d.choices) o.choices(d.choices);
  // What help prints as the term: the table's value name.
  o.flags = runFlagTerm(name, d);
  return o;
}

export function runFlagOptions(kind: 'run' | 'prepare'): Option[] {
  return runFlagsFor(kind).map(([n, d]) => displayOption(n, d));
}

/** Makes `capsule run --help` (and every reader of the command's Help) list the table's flags. */
export function showRunFlags(cmd: Command, kind: 'run' | 'prepare'): void {
  const table = runFlagOptions(kind);
  const inherited = cmd.configureHelp();
  cmd.configureHelp({
    ...inherited,
    visibleOptions(c: Command): Option[] {
      return [...table, ...Help.prototype.visibleOptions.call(this, c)];
    },
  });
}
