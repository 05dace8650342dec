import type { Command, Option } from 'commander';

/**
 * The commands and flags as `--help` shows them, read from the same commander objects through
 * commander's Help (so `run`/`prepare` include the flag table, see run-help.ts). Man pages and
 * shell completion are made from this model, never from a second list.
 */
export interface CliOption {
  /** As help prints it: `--app <name>`, `-t, --tty`, `--net[=NET…]`. */
  term: string;
  long: string | undefined;
  short: string | undefined;
  takesValue: boolean;
  choices: string[] | undefined;
  description: string;
}

export interface CliCommand {
  /** `['image', 'list']`; `[]` for the program itself. */
  path: string[];
  usage: string;
  description: string;
  options: CliOption[];
  subcommands: CliCommand[];
}

function option(help: ReturnType<Command['createHelp']>, o: Option): CliOption {
  // Display-only options of the run flag table carry their term in `flags` (`--net[=NET…]`).
  const long = o.long ?? /--[a-z0-9-]+/.exec(o.flags)?.[0];
  return {
    term: help.optionTerm(o),
    long,
    short: o.short,
    takesValue: o.required || o.optional || /[<[=]/.test(o.flags),
    choices: o.argChoices,
    description: help.optionDescription(o),
  };
}

export function cliModel(cmd: Command, parent: string[] = []): CliCommand {
  const help = cmd.createHelp();
  const path = cmd.parent ? [...parent, cmd.name()] : [];
  return {
    path,
    usage: help.commandUsage(cmd),
    description: help.commandDescription(cmd),
    options: help.visibleOptions(cmd).filter((o) => o.long !== '--help').map((o) => option(help, o)),
    subcommands: help.visibleCommands(cmd).filter((c) => c.name() !== 'help').map((c) => cliModel(c, path)),
  };
}

/** Every command of the model, depth first, the program first. */
export function allCommands(m: CliCommand): CliCommand[] {
  return [m, ...m.subcommands.flatMap(allCommands)];
}
