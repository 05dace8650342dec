import type { Command } from 'commander';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';
import { makeCtx } from '../context.js';
import type { Io } from '../io.js';
import { uuidArgs } from './pod-common.js';

export function registerCatManifest(program: Command, io: Io): void {
  program
    .command('cat-manifest')
    .description('print the manifest of a pod')
    .argument('[uuid]')
    .option('--pretty-print [bool]', 'indent the JSON (true or false)', 'true')
    .option('--uuid-file <file>', 'read the pod UUID from this file')
    .action(async (arg: string | undefined, f: { prettyPrint: string | boolean; uuidFile?: string }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      // rkt's bool flag: a bare `--pretty-print` never takes the next word; commander's optional value does.
      let pretty = f.prettyPrint;
      if (typeof pretty === 'string' && pretty !== 'true' && pretty !== 'false') {
        if (arg !== undefined || f.uuidFile !== undefined) throw new UsageError(`invalid value ${JSON.stringify(pretty)} for --pretty-print (want true or false)`);
        arg = pretty;
        pretty = true;
      }
      const [uuidArg] = uuidArgs(arg === undefined ? [] : [arg], f.uuidFile, false);
      if (uuidArg === undefined) throw new UsageError('missing UUID');
      const { runtimeDir } = await import('../stage1-registry.js');
      const { findPod } = await import('../../stage0/pod/pod.js');
      const fs = await import('node:fs');
      const path = await import('node:path');
      const pod = await findPod(ctx.globals.dir, runtimeDir(), uuidArg);
      let text: string;
      try {
        text = fs.readFileSync(path.join(pod.dir, 'pod'), 'utf8');
      } catch (e) {
        throw new CapsuleError('pod-manifest', `pod "${pod.uuid}" has no manifest`, { cause: e });
      }
      if (pretty === true || pretty === 'true') {
        try {
          text = JSON.stringify(JSON.parse(text), null, '\t');
        } catch (e) {
          throw new CapsuleError('pod-manifest', `the manifest of pod "${pod.uuid}" is not valid JSON`, { cause: e });
        }
      }
      io.out(text.endsWith('\n') ? text : `${text}\n`);
    });
}
