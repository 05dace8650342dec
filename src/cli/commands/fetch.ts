import { Option, type Command } from 'commander';
import { UsageError } from '../../errors/capsule-error.js';
import { commandArgv } from '../command-argv.js';
import { makeCtx } from '../context.js';
import type { Io } from '../io.js';
import { fetchHooks } from './run.js';
import { pairSignatures } from '../../stage0/fetch-args.js';
import { parsePullPolicy, type PullPolicy } from '../../stage0/pull-policy.js';
import { shortImageId } from '../../spec/image-id.js';

/** `store` is commander's name for `--no-store` (false when given). */
interface FetchFlags { signature?: string[]; full?: boolean; pullPolicy: string; storeOnly?: boolean; store?: boolean; platform?: string }

/** `--pull-policy`, or what rkt's deprecated `--store-only` / `--no-store` mean (with a warning). */
function pullPolicyOf(cmd: Command, f: FetchFlags, warn: (m: string) => void): PullPolicy {
  const noStore = f.store === false;
  if (f.storeOnly && noStore) throw new UsageError('both --store-only and --no-store specified');
  const explicit = cmd.getOptionValueSource('pullPolicy') === 'cli';
  for (const [on, flag, policy] of [[f.storeOnly, '--store-only', 'never'], [noStore, '--no-store', 'update']] as const) {
    if (!on) continue;
    if (explicit) throw new UsageError(`${flag} and --pull-policy are mutually exclusive (${flag} means --pull-policy=${policy})`);
    warn(`${flag} is deprecated: use --pull-policy=${policy}`);
    return policy;
  }
  return parsePullPolicy(f.pullPolicy);
}

export function registerFetch(program: Command, io: Io): void {
  program
    .command('fetch')
    .description('fetch image(s), verify them and store them locally')
    .usage('[options] IMAGE [--signature FILE] [IMAGE [--signature FILE]…]')
    .argument('<image...>', 'image file, ID, name or URL')
    // One file per flag; the argv walk below pairs them with their images.
    .addOption(new Option('--signature <file>', "an image's signature: after its image (rkt), or one per image before them, in order (default: IMAGE.asc beside a file)").argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]))
    .option('--full', 'print the full image ID')
    .addOption(new Option('--pull-policy <policy>', 'when to fetch: new, update or never').choices(['new', 'update', 'never']).default('update'))
    .option('--platform <os/arch[/variant]>', "OCI images: the platform to choose from a multi-platform image (default: the host's)")
    .option('--store-only', 'use only the store (deprecated: --pull-policy=never)')
    .option('--no-store', 'fetch even when the image is in the store (deprecated: --pull-policy=update)')
    .action(async (_images: string[], flags: FetchFlags, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const images = pairSignatures(commandArgv(cmd), new Set(['--pull-policy', '--platform']));
      const policy = pullPolicyOf(cmd, flags, ctx.warn);
      const { parsePlatform } = await import('../../oci/platform.js');
      const platform = flags.platform !== undefined ? parsePlatform(flags.platform) : undefined;
      const { Store } = await import('../../store/store.js');
      const { fetchImage } = await import('../../stage0/fetch-image.js');
      const { RemoteSession } = await import('../../stage0/fetch-remote.js');
      const store = Store.open(ctx.globals.dir, true);
      const hooks = fetchHooks(ctx, io);
      const remote = new RemoteSession(ctx.globals, hooks);
      try {
        for (const img of images) {
          const r = await fetchImage(store, { ...img, ...(platform ? { platform } : {}) }, policy, ctx.globals, hooks, remote);
          io.out(`${shortImageId(r.id, flags.full ? 64 : 32)}\n`);
        }
      } finally {
        await remote.close();
        store.close();
      }
    });
}
