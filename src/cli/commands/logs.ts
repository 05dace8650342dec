import type { Command } from 'commander';
import { UsageError } from '../../errors/capsule-error.js';
import { makeCtx } from '../context.js';
import { parseDuration } from '../duration.js';
import type { Io } from '../io.js';

interface LogsFlags { app?: string; follow?: boolean; tail?: string; since?: string; timestamps?: boolean }

function tailCount(v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`invalid value ${JSON.stringify(v)} for --tail: a number of lines`);
  return Number(v);
}

export function registerLogs(program: Command, io: Io): void {
  program
    .command('logs')
    .description("print a pod's app logs")
    .argument('<uuid>')
    .option('--app <name>', 'only this app (otherwise every app, lines prefixed with the app name when there are several)')
    .option('--follow', 'keep printing new output until the pod ends')
    .option('--tail <N>', "only the last N lines of each app's log (then new ones, with --follow)")
    .option('--since <DURATION|TIME>', 'only lines written since then: a duration back from now (10m, 1h30m) or an RFC 3339 time (2026-12-06T13:05:57Z)')
    .option('--timestamps', 'start each line with the time it was written (RFC 3339, UTC, nanoseconds)')
    .action(async (uuidArg: string, f: LogsFlags, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const tail = f.tail === undefined ? undefined : tailCount(f.tail);
      const { parseSince } = await import('../../stage0/pod/log-times.js');
      const since = f.since === undefined ? undefined : parseSince(f.since, Date.now(), (s) => parseDuration(s, '--since'));
      const { runtimeDir } = await import('../stage1-registry.js');
      const { findPod } = await import('../../stage0/pod/pod.js');
      const { podLogs } = await import('../../stage0/pod/pod-logs.js');
      const pod = await findPod(ctx.globals.dir, runtimeDir(), uuidArg);
      await podLogs(pod, {
        ...(f.app !== undefined ? { app: f.app } : {}),
        ...(tail !== undefined ? { tail } : {}),
        ...(since !== undefined ? { since } : {}),
        timestamps: f.timestamps === true,
        follow: f.follow === true,
        write: (s) => io.out(s),
      });
    });
}
