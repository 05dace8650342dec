import type { Command } from 'commander';
import { makeCtx } from '../context.js';
import type { Io } from '../io.js';
import { requireRoot } from './pod-common.js';

export function registerExport(program: Command, io: Io): void {
  program
    .command('export')
    .description("export an exited pod's app, with its changes, as an ACI")
    .argument('<uuid>')
    .argument('<out>', 'output file, ending in .aci')
    .option('--app <name>', 'the app to export (needed when the pod has several)')
    .option('--overwrite', 'overwrite the output file')
    .action(async (uuidArg: string, out: string, f: { app?: string; overwrite?: boolean }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      requireRoot();
      const { runtimeDir } = await import('../stage1-registry.js');
      const { findPod } = await import('../../stage0/pod/pod.js');
      const { exportPod } = await import('../../stage0/pod/pod-export.js');
      const pod = await findPod(ctx.globals.dir, runtimeDir(), uuidArg);
      await exportPod(pod, {
        ...(f.app !== undefined ? { app: f.app } : {}),
        out,
        overwrite: f.overwrite === true,
        storedManifest: async (imageId) => {
          const { Store } = await import('../../store/store.js');
          const { resolveStoredImage } = await import('../../oci/stored-image.js');
          const s = Store.open(ctx.globals.dir, false);
          try {
            return s.exists ? resolveStoredImage(s, imageId).manifestText : null;
          } catch {
            return null;
          } finally {
            s.close();
          }
        },
        listApps: (names) => {
          io.err('export: pod contains multiple apps:\n');
          for (const n of names) io.err(`\t${n}\n`);
        },
      });
    });
}
