import { Option, type Command } from 'commander';
import { UsageError } from '../../errors/capsule-error.js';
import { makeCtx } from '../context.js';
import type { Io } from '../io.js';
import { progressBar } from '../progress.js';
import { keyReviewer } from './trust.js';
import { parsePullPolicy } from '../../stage0/pull-policy.js';
import { shortImageId } from '../../spec/image-id.js';

interface FetchFlags { signature?: string[]; full?: boolean; pullPolicy: string }

/** The command line as given: commander drops `--` from operands, so look at the raw argv. */
function rawArgs(cmd: Command): string[] {
  let root = cmd;
  while (root.parent) root = root.parent;
  const raw = (root as unknown as { rawArgs?: unknown }).rawArgs;
  return Array.isArray(raw) ? raw.filter((a): a is string => typeof a === 'string') : [];
}

export function registerFetch(program: Command, io: Io): void {
  program
    .command('fetch')
    .description('fetch image(s), verify them and store them locally')
    .argument('<image...>', 'image file, ID, name or URL')
    .option('--signature <file...>', 'signature file(s), one per image in order (default: IMAGE.asc beside a file)')
    .option('--full', 'print the full image ID')
    .addOption(new Option('--pull-policy <policy>', 'when to fetch: new, update or never').default('update'))
    .action(async (images: string[], flags: FetchFlags, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      if (images.includes('--') || rawArgs(cmd).includes('--')) throw new UsageError('app arguments unsupported');
      const policy = parsePullPolicy(flags.pullPolicy);
      const sigs = flags.signature ?? [];
      if (sigs.length > 0 && sigs.length !== images.length) throw new UsageError(`--signature given ${sigs.length} time(s) for ${images.length} image(s); give one per image, in order`);
      const { Store } = await import('../../store/store.js');
      const { fetchImage } = await import('../../stage0/fetch-image.js');
      const { RemoteSession } = await import('../../stage0/fetch-remote.js');
      const store = Store.open(ctx.globals.dir, true);
      const review = keyReviewer(ctx);
      const hooks = {
        warn: ctx.warn,
        info: (m: string) => io.err(`image: ${m}\n`),
        debug: ctx.debug,
        progress: (label: string, total: number | undefined) => progressBar(io, label, total),
        ...(review ? { review } : {}),
      };
      const remote = new RemoteSession(ctx.globals, hooks);
      try {
        for (const [i, arg] of images.entries()) {
          const r = await fetchImage(store, { arg, ...(sigs[i] ? { signature: sigs[i] } : {}) }, policy, ctx.globals, hooks, remote);
          io.out(`${shortImageId(r.id, flags.full ? 64 : 32)}\n`);
        }
      } finally {
        await remote.close();
        store.close();
      }
    });
}
