import { CommanderError, type Command } from 'commander';
import { formatError } from '../errors/format.js';
import { parseGoBool } from '../spec/go-bool.js';
import { resolveGlobalOptions } from '../config/global-options.js';
import { commandPath } from './context.js';
import { explainNoSpace } from './no-space.js';
import { processIo, type Io } from './io.js';
import { buildProgram } from './program.js';

export const EXIT_FAILURE = 254;

/**
 * The one top-level catch: runs a command line, maps every failure to one stderr line and exit
 * 254 (usage errors too), shows the cause chain with --debug, and reports bugs as bugs.
 */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let current: Command | undefined;
  const program = buildProgram(io, (cmd) => {
    current = cmd;
  });
  const debug = debugFlag(argv);
  if (argv.length === 0) {
    io.err('capsule: missing command\n');
    io.err(program.helpInformation());
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.help' && e.exitCode !== 0) {
        // Commander showed the help because no subcommand was named (e.g. only global flags):
        // rkt's "missing command", exit 2.
        io.err(`${guessCommand(program, argv) || 'capsule'}: missing command\n`);
        return 2;
      }
      if (e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      const where = current ? commandPath(current) : guessCommand(program, argv);
      // One line: commander's suggestion goes on the same line as the error.
      const msg = e.message.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\?\)$/s, ' (did you mean $1?)');
      io.err(`${where ? `${where}: ` : 'capsule: '}${msg}\n`);
      return EXIT_FAILURE;
    }
    const where = current ? commandPath(current) : guessCommand(program, argv) || 'capsule';
    io.err(`${formatError(where, explainNoSpace(e, dataDirOf(current), debug), debug)}\n`);
    return EXIT_FAILURE;
  }
}

/** The data dir the failed command used (the default when its flags cannot be read). */
function dataDirOf(cmd: Command | undefined): string {
  try {
    return resolveGlobalOptions(cmd?.optsWithGlobals() ?? {}).dir;
  } catch {
    return resolveGlobalOptions({}).dir;
  }
}

/** `--debug` / `--debug=BOOL` before `--`, the last one winning (also when parsing fails). */
function debugFlag(argv: readonly string[]): boolean {
  let on = false;
  for (const a of argv) {
    if (a === '--') break;
    if (a === '--debug') on = true;
    else if (a.startsWith('--debug=')) on = parseGoBool(a.slice(8)) ?? on;
  }
  return on;
}

/** For parse errors (no action ran yet): the deepest known subcommand named in argv. */
function guessCommand(program: Command, argv: string[]): string {
  const names: string[] = [];
  let cmd: Command = program;
  for (const a of argv) {
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) continue;
    names.push(sub.name());
    cmd = sub;
  }
  return names.join(' ');
}
