import { Command, Option } from 'commander';
import { DEFAULTS, INSECURE_VALUES, resolveGlobalOptions } from '../config/global-options.js';
import type { Io } from './io.js';
import { registerVersion } from './commands/version.js';
import { registerTrust } from './commands/trust.js';
import { registerFetch } from './commands/fetch.js';
import { registerImage } from './commands/image.js';
import { registerRun } from './commands/run.js';
import { registerList } from './commands/list.js';
import { registerStatus } from './commands/status.js';
import { registerStop } from './commands/stop.js';
import { registerGc } from './commands/gc.js';
import { registerRm } from './commands/rm.js';
import { registerCatManifest } from './commands/cat-manifest.js';
import { registerExport } from './commands/export.js';
import { registerLogs } from './commands/logs.js';

/** Builds a fresh program per invocation: no flag state is registered at import time. */
export function buildProgram(io: Io, onCommandError: (cmd: Command, message: string) => void): Command {
  const program = new Command('capsule');
  program
    .description('Capsule: a daemonless, rkt-compatible, secure pod container runtime')
    .addOption(new Option('--dir <dir>', 'data directory').default(DEFAULTS.dir))
    .addOption(new Option('--local-config <dir>', 'local configuration directory').default(DEFAULTS.localConfig))
    .addOption(new Option('--system-config <dir>', 'system configuration directory').default(DEFAULTS.systemConfig))
    .addOption(new Option('--user-config <dir>', 'user configuration directory'))
    .addOption(new Option('--insecure-options <list>', `comma-separated list of security features to disable (${INSECURE_VALUES.join(',')})`).default('none'))
    .addOption(new Option('--trust-keys-from-https', 'automatically trust keys fetched from HTTPS').default(false))
    .addOption(new Option('--debug', 'print out more debug information to stderr').default(false))
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: () => {
        /* reported by main in the one-line format */
      },
    });
  program.hook('preAction', (_thisCmd, actionCmd) => {
    onCommandError(actionCmd, '');
    resolveGlobalOptions(actionCmd.optsWithGlobals()); // rejects bad global flags for every command
  });
  registerVersion(program, io);
  registerTrust(program, io);
  registerFetch(program, io);
  registerImage(program, io);
  registerRun(program, io);
  registerList(program, io);
  registerStatus(program, io);
  registerStop(program, io);
  registerGc(program, io);
  registerRm(program, io);
  registerCatManifest(program, io);
  registerExport(program, io);
  registerLogs(program, io);
  return program;
}
