import type { Command } from 'commander';
import { CapsuleError } from '../../errors/capsule-error.js';
import { makeCtx } from '../context.js';
import type { Io } from '../io.js';
import { requireRoot, uuidArgs } from './pod-common.js';

/** How long `stop` waits for a signalled pod to end (its apps get SIGTERM, SIGKILL after 10 s). */
const STOP_WAIT_MS = 20_000;

export function registerStop(program: Command, io: Io): void {
  program
    .command('stop')
    .description('stop running pod(s)')
    .argument('[uuid...]')
    .option('--force', 'kill the pod (SIGKILL) instead of stopping it gracefully')
    .option('--uuid-file <file>', 'read the pod UUID from this file')
    .action(async (args: string[], f: { force?: boolean; uuidFile?: string }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      requireRoot();
      const uuids = uuidArgs(args, f.uuidFile, true);
      const { runtimeDir, stage1Env, stage1For } = await import('../stage1-registry.js');
      const { findPod } = await import('../../stage0/pod/pod.js');
      const { stopPod } = await import('../../stage0/pod/pod-stop.js');
      const { formatError } = await import('../../errors/format.js');
      let failed = 0;
      for (const u of uuids) {
        try {
          const pod = await findPod(ctx.globals.dir, runtimeDir(), u);
          const r = await stopPod(pod, (dir, rt, force) => stage1For(rt.flavour).stop(stage1Env(ctx.globals, dir), rt, force), f.force === true, STOP_WAIT_MS);
          io.out(r === 'stopped' ? `"${pod.uuid}"\n` : `pod "${pod.uuid}" is already stopped\n`);
        } catch (e) {
          failed++;
          io.err(`${formatError('stop', e, ctx.globals.debug)}\n`);
        }
      }
      if (failed > 0) throw new CapsuleError('stop-failed', `failed to stop ${failed} pod(s)`);
    });
}
