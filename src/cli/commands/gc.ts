import type { Command } from 'commander';
import { CapsuleError } from '../../errors/capsule-error.js';
import { makeCtx } from '../context.js';
import { parseDuration } from '../duration.js';
import type { Io } from '../io.js';
import { goDuration, requireRoot } from './pod-common.js';

interface GcFlags { gracePeriod: string; expirePrepared: string; markOnly?: boolean }

export function registerGc(program: Command, io: Io): void {
  program
    .command('gc')
    .description('garbage collect pods: mark exited ones, delete those marked longer than the grace period ago; then remove shared iptables chains no pod uses')
    .option('--grace-period <duration>', 'how long an exited pod is kept after being marked', '30m')
    .option('--expire-prepared <duration>', 'how long a prepared pod that never ran is kept', '24h')
    .option('--mark-only', 'only move exited and aborted pods to the garbage directories')
    .action(async (f: GcFlags, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      requireRoot();
      const grace = parseDuration(f.gracePeriod, '--grace-period');
      const expire = parseDuration(f.expirePrepared, '--expire-prepared');
      const { runtimeDir, stage1Env, stage1For } = await import('../stage1-registry.js');
      const { gcPods } = await import('../../stage0/pod/pod-gc.js');
      const { formatError } = await import('../../errors/format.js');
      const failed = await gcPods(
        {
          dataDir: ctx.globals.dir,
          runtimeDir: runtimeDir(),
          gracePeriodMs: grace,
          expirePreparedMs: expire,
          markOnly: f.markOnly === true,
          stage1Gc: (dir, rt) => stage1For(rt.flavour).gc(stage1Env(ctx.globals, dir), rt),
        },
        {
          markedExited: (u) => io.err(`gc: moving pod "${u}" to garbage\n`),
          markedAborted: (u) => io.err(`gc: moving failed prepare "${u}" to garbage\n`),
          expiredPrepared: (u) => io.err(`gc: moving expired prepared pod "${u}" to garbage\n`),
          collecting: (u) => io.out(`Garbage collecting pod "${u}"\n`),
          withinGrace: (u) => io.err(`gc: pod "${u}" not removed: still within grace period (${goDuration(grace)})\n`),
          failed: (_u, e) => io.err(`${formatError('gc', e, ctx.globals.debug)}\n`),
          warn: (m, e) => io.err(`${formatError('gc', new CapsuleError('gc', m, { cause: e }), ctx.globals.debug)}\n`),
          debug: ctx.debug,
        },
      );
      if (f.markOnly !== true) {
        // Host-wide state no pod holds any more: the shared nat chains (docs/networking.md).
        const { sweepSharedChains } = await import('../../net/sweep-shared-chains.js');
        const swept = await sweepSharedChains().catch((e: unknown) => {
          io.err(`${formatError('gc', new CapsuleError('gc', 'removing unused shared iptables chains (the next gc tries again)', { cause: e }), ctx.globals.debug)}\n`);
          return null;
        });
        if (swept !== null && 'busy' in swept) ctx.debug('shared iptables chains not checked: pods are being set up (the next gc looks again)');
        else if (swept !== null && swept.removed.length > 0) io.err(`gc: removed shared iptables chains no pod uses: ${swept.removed.join(', ')}\n`);
      }
      if (failed > 0) throw new CapsuleError('gc-failed', `failed to garbage collect ${failed} pod(s)`);
    });
}
