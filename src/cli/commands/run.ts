import { isatty } from 'node:tty';
import type { Command } from 'commander';
import { UsageError } from '../../errors/capsule-error.js';
import { parseGoBool } from '../../spec/go-bool.js';
import { commandArgv } from '../command-argv.js';
import { makeCtx, type Ctx } from '../context.js';
import type { Io } from '../io.js';
import { progressBar } from '../progress.js';
import { showRunFlags } from '../run-help.js';
import { requireRoot } from './pod-common.js';
import { keyReviewer } from './trust.js';

export function fetchHooks(ctx: Ctx, io: Io) {
  const review = keyReviewer(ctx);
  return {
    warn: ctx.warn,
    info: (m: string) => io.err(`image: ${m}\n`),
    debug: ctx.debug,
    progress: (label: string, total: number | undefined) => progressBar(io, label, total),
    ...(review ? { review } : {}),
  };
}

function inheritedLock(): { fd: number; pendingPath: string; held: boolean } | undefined {
  const fd = process.env.CAPSULE_LOCK_FD;
  const pendingPath = process.env.CAPSULE_LOCK_PENDING;
  if (!fd || !pendingPath) return undefined;
  return { fd: Number(fd), pendingPath, held: process.env.CAPSULE_LOCK_HELD === '1' };
}

export function registerRun(program: Command, io: Io): void {
  for (const kind of ['run', 'prepare'] as const) {
    const c = program
      .command(kind)
      .description(kind === 'run' ? 'run image(s) in a pod' : 'prepare a pod to run later (prints its UUID)')
      .usage('[pod flags] IMAGE [app flags] [-- app args… [---]] [IMAGE…]')
      .allowUnknownOption(true)
      .allowExcessArguments(true)
      .argument('[args...]')
      .action(async (_a: unknown, _f: unknown, cmd: Command) => {
        const ctx = makeCtx(cmd, io);
        requireRoot();
        const { startPod } = await import('../../stage0/start-pod.js');
        const { runtimeDir, stage1Env, stage1For } = await import('../stage1-registry.js');
        const argv = commandArgv(cmd);
        const r = await startPod({ kind, argv, globals: ctx.globals, runtimeDir: runtimeDir(), env: process.env, hooks: fetchHooks(ctx, io), inheritedLock: kind === 'run' ? inheritedLock() : undefined, stage1For, stage1Env });
        if (kind === 'prepare') io.out(`${r.uuid}\n`);
      });
    showRunFlags(c, kind);
  }

  program
    .command('run-prepared')
    .description('run a prepared pod')
    .argument('<uuid>', 'pod UUID (or a unique prefix)')
    .option('--net [nets]', "the pod's networks, comma-separated: default, default-restricted, host, none, all or nets from net.d (NAME:K=V;K=V passes CNI_ARGS); bare --net is default")
    .option('--dns <ip|host|none>', "a name server for the pod's resolv.conf (repeatable)", collect, [])
    .option('--dns-search <domain>', "a search domain for the pod's resolv.conf (repeatable)", collect, [])
    .option('--dns-opt <option>', "an options line entry for the pod's resolv.conf (repeatable)", collect, [])
    .option('--dns-domain <domain>', "the domain line of the pod's resolv.conf")
    .option('--hosts-entry <IP=HOST|host>', "entries for the pod's /etc/hosts (repeatable; host: the host's file)", collect, [])
    .option('--hostname <name>', 'pod hostname (default capsule-<uuid>)')
    .option('--interactive', 'run the pod interactively')
    .option('--ipc <mode>', 'IPC namespace: auto, private or parent')
    .option('--mds-register', 'the pod is registered with the metadata service (it must have been prepared with --mds-register; checks the service runs and the net is a CNI one)')
    .action(async (uuid: string, flags: { net?: string | boolean; hostname?: string; interactive?: boolean; ipc?: string; mdsRegister?: boolean; dns: string[]; dnsSearch: string[]; dnsOpt: string[]; dnsDomain?: string; hostsEntry: string[] }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      requireRoot();
      if (flags.ipc !== undefined && !['auto', 'private', 'parent'].includes(flags.ipc)) throw new UsageError(`invalid value ${JSON.stringify(flags.ipc)} for --ipc (auto, private or parent)`);
      const { dnsOptions, hostsOptions } = await import('../../stage0/run-args/net-flags.js');
      const dns = dnsOptions({ dns: flags.dns, dnsSearch: flags.dnsSearch, dnsOpt: flags.dnsOpt, ...(flags.dnsDomain !== undefined ? { dnsDomain: flags.dnsDomain } : {}) });
      const hosts = hostsOptions({ hostsEntries: flags.hostsEntry });
      const { runPrepared } = await import('../../stage0/start-pod.js');
      const { runtimeDir, stage1Env, stage1For } = await import('../stage1-registry.js');
      await runPrepared({
        uuidArg: uuid,
        globals: ctx.globals,
        runtimeDir: runtimeDir(),
        env: process.env,
        inheritedLock: inheritedLock(),
        stage1For,
        stage1Env,
        warn: ctx.warn,
        ...(flags.mdsRegister === true ? { mdsRegister: true } : {}),
        opts: {
          ...(flags.net !== undefined ? { net: flags.net === true ? 'default' : String(flags.net) } : {}),
          dns,
          hosts,
          ...(flags.hostname !== undefined ? { hostname: flags.hostname } : {}),
          ...(flags.interactive ? { interactive: true } : {}),
          ...(flags.ipc !== undefined ? { ipc: flags.ipc as 'auto' | 'private' | 'parent' } : {}),
          ...(ctx.globals.debug ? { debug: true } : {}),
        },
      });
    });

  program
    .command('enter')
    .description("run a command inside a running pod's app, with the app's isolation")
    .usage('[--app NAME] [-t|--tty[=BOOL]] UUID [--] [CMD [ARGS…]]')
    .option('--app <name>', 'the app to enter (needed for multi-app pods)')
    .option('-t, --tty', "run the command on a fresh terminal of the pod's, passing the window size (default: when stdin is a terminal; --tty=false: never)")
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[uuid]', 'pod UUID (or a unique prefix)')
    .argument('[cmd...]', 'command and arguments (default /bin/sh)')
    .action(async (_u: unknown, _c: unknown, _f: unknown, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      requireRoot();
      const a = parseEnterArgv(commandArgv(cmd));
      const { enterPod } = await import('../../stage0/start-pod.js');
      const { runtimeDir, stage1Env, stage1For } = await import('../stage1-registry.js');
      await enterPod({
        uuidArg: a.uuid,
        app: a.app,
        cmd: a.cmd,
        tty: a.tty ?? isatty(0),
        globals: ctx.globals,
        runtimeDir: runtimeDir(),
        env: process.env,
        stage1For,
        stage1Env,
        listApps: (apps) => io.err(`enter: pod apps: ${apps.join(', ')}\n`),
        noCommand: (assumed) => io.err(`enter: no command specified, assuming ${JSON.stringify(assumed)}\n`),
      });
    });
}

/**
 * `enter [--app NAME] [-t|--tty[=BOOL]] UUID [--] [CMD ARGS…]`: everything after the UUID belongs
 * to the command. `tty` undefined: not given (the caller decides by stdin).
 */
export function parseEnterArgv(argv: readonly string[]): { app: string | undefined; tty: boolean | undefined; uuid: string; cmd: string[] } {
  let app: string | undefined;
  let tty: boolean | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const x = argv[i] ?? '';
    if (x === '--app') app = argv[++i];
    else if (x.startsWith('--app=')) app = x.slice(6);
    else if (x === '-t' || x === '--tty') tty = true;
    else if (x.startsWith('--tty=')) {
      tty = parseGoBool(x.slice(6));
      if (tty === undefined) throw new UsageError(`invalid boolean value ${JSON.stringify(x.slice(6))} for --tty (want true or false)`);
    }
    else if (x.startsWith('-')) throw new UsageError(`unknown flag: ${x}`);
    else break;
  }
  const uuid = argv[i];
  if (uuid === undefined) throw new UsageError('enter needs a pod UUID');
  let rest = argv.slice(i + 1);
  if (rest[0] === '--') rest = rest.slice(1);
  return { app, tty, uuid, cmd: rest };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}
