import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors/capsule-error.js';
import { CAPSULE_VERSION } from '../../version.js';
import type { Io } from '../io.js';

/** The program's root, whose commands the model is read from. */
const rootOf = (cmd: Command): Command => {
  let r = cmd;
  while (r.parent) r = r.parent;
  return r;
};

export function registerCompletion(program: Command, io: Io): void {
  program
    .command('completion')
    .description('print a shell completion script (bash or zsh), made from the same definitions as --help')
    .argument('<shell>', 'bash or zsh')
    .action(async (shell: string, _f: unknown, cmd: Command) => {
      const [{ cliModel }, { bashCompletion, zshCompletion }] = await Promise.all([import('../cli-model.js'), import('../completion-script.js')]);
      const m = cliModel(rootOf(cmd));
      if (shell === 'bash') io.out(bashCompletion(m));
      else if (shell === 'zsh') io.out(zshCompletion(m));
      else throw new UsageError(`unsupported shell ${JSON.stringify(shell)}: bash or zsh`);
    });
  // Used by the build (npm run package): man pages made from the same definitions as --help.
  program
    .command('man-pages', { hidden: true })
    .description('write the man pages (section 1) into DIR')
    .argument('<dir>')
    .action(async (dir: string, _f: unknown, cmd: Command) => {
      const [{ cliModel }, { manPages }] = await Promise.all([import('../cli-model.js'), import('../man-page.js')]);
      fs.mkdirSync(dir, { recursive: true });
      for (const [name, text] of manPages(cliModel(rootOf(cmd)), CAPSULE_VERSION)) fs.writeFileSync(path.join(dir, name), text);
    });
}
