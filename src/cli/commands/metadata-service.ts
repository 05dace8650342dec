import type { Command } from 'commander';
import { UsageError } from '../../errors/capsule-error.js';
import { makeCtx } from '../context.js';
import type { Io } from '../io.js';
import { requireRoot } from './pod-common.js';

function port(v: string): number {
  const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new UsageError(`invalid port ${JSON.stringify(v)} for --listen-port (0-65535)`);
  return n;
}

/**
 * `capsule metadata-service`: the appc metadata service, the one long-running Capsule process
 * (as rkt's was). Runs until SIGTERM/SIGINT; socket-activated when systemd passes a socket.
 */
export function registerMetadataService(program: Command, io: Io): void {
  program
    .command('metadata-service')
    .description('run the appc metadata service for pods started with --mds-register (stays in the foreground)')
    .option('--listen-port <port>', 'TCP port to listen on (ignored when socket-activated)', port, 18112)
    .action(async (f: { listenPort: number }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      requireRoot();
      const { startMdsServer, activationFd } = await import('../../mds/mds-server.js');
      const { mdsRoot } = await import('../../mds/mds-store.js');
      const fd = activationFd(process.env, process.pid);
      const server = await startMdsServer({ root: mdsRoot(ctx.globals.dir), port: f.listenPort, ...(fd !== undefined ? { listenFd: fd } : {}), log: (l) => io.err(`metadata-service: ${l}\n`) });
      io.err(`metadata-service: listening on port ${server.port}${fd !== undefined ? ' (socket-activated)' : ''}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      await server.close();
      io.err('metadata-service: stopped\n');
    });
}
