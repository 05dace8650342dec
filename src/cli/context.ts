import type { Command } from 'commander';
import { resolveGlobalOptions, type GlobalOptions } from '../config/global-options.js';
import type { Io } from './io.js';

/** What every command action gets: resolved global flags and the I/O seam. */
export interface Ctx {
  globals: GlobalOptions;
  io: Io;
  warn: (msg: string) => void;
  debug: (msg: string) => void;
}

export function makeCtx(cmd: Command, io: Io): Ctx {
  const globals = resolveGlobalOptions(cmd.optsWithGlobals());
  const name = commandPath(cmd);
  return {
    globals,
    io,
    warn: (m) => io.err(`${name}: warning: ${m}\n`),
    debug: (m) => {
      if (globals.debug) io.err(`${name}: ${m}\n`);
    },
  };
}

/** `image list`, `fetch`…: the prefix of every message a command prints. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
