import type { Command } from 'commander';
import { makeCtx } from '../context.js';
import type { Io } from '../io.js';

export function registerLogs(program: Command, io: Io): void {
  program
    .command('logs')
    .description("print a pod's app logs")
    .argument('<uuid>')
    .option('--app <name>', 'only this app (otherwise every app, lines prefixed with the app name when there are several)')
    .option('--follow', 'keep printing new output until the pod ends')
    .action(async (uuidArg: string, f: { app?: string; follow?: boolean }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const { runtimeDir } = await import('../stage1-registry.js');
      const { findPod } = await import('../../stage0/pod/pod.js');
      const { podLogs } = await import('../../stage0/pod/pod-logs.js');
      const pod = await findPod(ctx.globals.dir, runtimeDir(), uuidArg);
      await podLogs(pod, { ...(f.app !== undefined ? { app: f.app } : {}), follow: f.follow === true, write: (s) => io.out(s) });
    });
}
