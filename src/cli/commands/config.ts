import type { Command } from 'commander';
import { makeCtx } from '../context.js';
import type { Io } from '../io.js';
import { renderJson } from '../table.js';
import { configView } from '../../config/config-view.js';
import { CAPSULE_VERSION } from '../../version.js';

export function registerConfig(program: Command, io: Io): void {
  program
    .command('config')
    .description('print the merged configuration as JSON (rkt\'s "stage0" entries: auth, dockerAuth, paths, stage1), secrets redacted')
    .action(async (_f: unknown, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const { libexecDir } = await import('../stage1-registry.js');
      io.out(renderJson(configView(ctx.globals, { libexecDir: libexecDir(), version: CAPSULE_VERSION }), 'json-pretty'));
    });
}
