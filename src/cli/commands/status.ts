import { Option, type Command } from 'commander';
import { UsageError } from '../../errors/capsule-error.js';
import { makeCtx } from '../context.js';
import { parseDuration } from '../duration.js';
import type { Io } from '../io.js';
import { longTime, renderJson, type Format } from '../table.js';
import { podJson } from '../json-output.js';
import { formatNets, uuidArgs } from './pod-common.js';

interface StatusFlags { wait?: string | boolean; waitReady?: string | boolean; format: Format; uuidFile?: string }

/** rkt's bool-or-duration flags: bare or `true` = for ever, `false` = no, a duration = at most that long (negative: for ever). */
function waitFlag(v: string | boolean | undefined, flag: string): { on: boolean; timeoutMs: number | null } {
  if (v === undefined || v === false || v === 'false') return { on: false, timeoutMs: null };
  if (v === true || v === 'true') return { on: true, timeoutMs: null };
  if (v.startsWith('-')) {
    parseDuration(v.slice(1), flag);
    return { on: true, timeoutMs: null };
  }
  const ms = parseDuration(v, flag);
  return ms === 0 ? { on: false, timeoutMs: null } : { on: true, timeoutMs: ms };
}

const isWaitValue = (v: string | boolean | undefined): boolean => typeof v !== 'string' || v === 'true' || v === 'false';

export function registerStatus(program: Command, io: Io): void {
  program
    .command('status')
    .description('show the status of a pod')
    .argument('[uuid]')
    .addOption(new Option('--wait [bool|duration]', 'wait for the pod to exit (for at most the duration)'))
    .addOption(new Option('--wait-ready [bool|duration]', 'wait until all apps of the pod have started (for at most the duration)'))
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'json-pretty']).default('table'))
    .option('--uuid-file <file>', 'read the pod UUID from this file')
    .action(async (arg: string | undefined, f: StatusFlags, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      // rkt's `--wait UUID` never takes the UUID as the flag's value; commander's optional value does: give it back.
      let { wait, waitReady } = f;
      if (arg === undefined && f.uuidFile === undefined) {
        if (!isWaitValue(waitReady)) [arg, waitReady] = [waitReady as string, true];
        else if (!isWaitValue(wait)) [arg, wait] = [wait as string, true];
      }
      const [uuidArg] = uuidArgs(arg === undefined ? [] : [arg], f.uuidFile, false);
      if (uuidArg === undefined) throw new UsageError('missing UUID');
      const w = waitFlag(wait, '--wait');
      const r = waitFlag(waitReady, '--wait-ready');
      const { runtimeDir } = await import('../stage1-registry.js');
      const { findPod } = await import('../../stage0/pod/pod.js');
      const { podStatus } = await import('../../stage0/pod/pod-status.js');
      const { waitExited, waitReady: untilReady } = await import('../../stage0/pod/pod-wait.js');
      const pod = await findPod(ctx.globals.dir, runtimeDir(), uuidArg);
      if (r.on) await untilReady(pod, r.timeoutMs);
      if (w.on) await waitExited(pod, w.timeoutMs);
      const st = await podStatus(pod);
      if (f.format !== 'table') {
        io.out(renderJson(podJson(st), f.format));
        return;
      }
      const lines = [`state=${st.state}`];
      if (st.created !== null) lines.push(`created=${longTime(st.created)}`);
      if (st.started !== null) lines.push(`started=${longTime(st.started)}`);
      if (st.state === 'running' || st.state === 'exited') lines.push(`networks=${formatNets(st.networks)}`);
      if (['running', 'deleting', 'exited deleting', 'exited', 'exited garbage'].includes(st.state)) {
        if (st.pid !== null) lines.push(`pid=${st.pid}`);
        lines.push(`exited=${st.state === 'exited' || st.state === 'exited garbage'}`);
        if (st.state !== 'running') for (const a of st.apps) if (a.exitCode !== null) lines.push(`app-${a.name}=${a.exitCode}`);
      }
      io.out(`${lines.join('\n')}\n`);
    });
}
