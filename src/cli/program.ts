import { Option, type Command } from 'commander';
import { CapsuleCommand } from './capsule-command.js';
import { commandPath } from './context.js';
import { requireRoot } from './commands/pod-common.js';
import { CAPSULE_VERSION } from '../version.js';
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
import { registerConfig } from './commands/config.js';
import { registerMetadataService } from './commands/metadata-service.js';
import { registerCompletion } from './commands/completion.js';

/** Builds a fresh program per invocation: no flag state is registered at import time. */
export function buildProgram(io: Io, onCommandError: (cmd: Command, message: string) => void): Command {
  const program = new CapsuleCommand('capsule');
  program
    .version(`capsule version ${CAPSULE_VERSION}`, '--version', 'print the version and exit')
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
  registerConfig(program, io);
  registerMetadataService(program, io);
  registerCompletion(program, io);
  gateRootOnly(program, (cmd) => onCommandError(cmd, ''));
  return program;
}

/**
 * Commands that change pods or collect store garbage: rkt's root-only set, plus `stop`, `export`
 * and `image gc` (docs/permissions.md). Checked before the command parses its own arguments.
 */
export const ROOT_ONLY = ['run', 'prepare', 'run-prepared', 'enter', 'stop', 'rm', 'gc', 'export', 'image gc'] as const;

function gateRootOnly(program: CapsuleCommand, entered: (cmd: Command) => void): void {
  const all: Command[] = [];
  const walk = (c: Command): void => {
    all.push(c);
    c.commands.forEach(walk);
  };
  walk(program);
  for (const c of all) {
    if (c instanceof CapsuleCommand && (ROOT_ONLY as readonly string[]).includes(commandPath(c))) c.needsRoot = true;
    if (c.commands.length === 0) continue;
    c.hook('preSubcommand', (_parent, sub) => {
      if (!(sub instanceof CapsuleCommand) || !sub.needsRoot || asksForHelp(program)) return;
      entered(sub);
      requireRoot();
    });
  }
}

/** `--help`/`-h` before `--`, or `capsule help CMD`: help is for everyone. */
function asksForHelp(program: Command): boolean {
  const raw = ((program as unknown as { rawArgs?: unknown }).rawArgs as string[] | undefined) ?? [];
  const end = raw.indexOf('--');
  const words = end < 0 ? raw : raw.slice(0, end);
  return words.includes('--help') || words.includes('-h') || words.find((w) => !w.startsWith('-')) === 'help';
}
