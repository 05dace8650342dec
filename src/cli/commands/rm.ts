import type { Command } from 'commander';
import { CapsuleError } from '../../errors/capsule-error.js';
import { makeCtx } from '../context.js';
import type { Io } from '../io.js';
import { requireRoot, uuidArgs } from './pod-common.js';

export function registerRm(program: Command, io: Io): void {
  program
    .command('rm')
    .description('remove pod(s) that are not running, now')
    .argument('[uuid...]')
    .option('--uuid-file <file>', 'read the pod UUID from this file')
    .action(async (args: string[], f: { uuidFile?: string }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      requireRoot();
      const uuids = uuidArgs(args, f.uuidFile, true);
      const { runtimeDir, stage1Env, stage1For } = await import('../stage1-registry.js');
      const { findPod } = await import('../../stage0/pod/pod.js');
      const { removePod } = await import('../../stage0/pod/pod-rm.js');
      const { formatError } = await import('../../errors/format.js');
      let failed = 0;
      for (const u of uuids) {
        try {
          const pod = await findPod(ctx.globals.dir, runtimeDir(), u);
          await removePod(pod, (dir, rt) => stage1For(rt.flavour).gc(stage1Env(ctx.globals, dir), rt), {
            info: (m) => io.err(`rm: ${m}\n`),
            warn: (m, e) => io.err(`${formatError('rm', new CapsuleError('rm', m, { cause: e }), ctx.globals.debug)}\n`),
            debug: ctx.debug,
          });
          io.out(`"${pod.uuid}"\n`);
        } catch (e) {
          failed++;
          io.err(`${formatError('rm', e, ctx.globals.debug)}\n`);
        }
      }
      if (failed > 0) throw new CapsuleError('rm-failed', 'failed to remove one or more pods');
    });
}
