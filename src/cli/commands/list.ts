import { Option, type Command } from 'commander';
import { makeCtx } from '../context.js';
import type { Io } from '../io.js';
import { humanAgo, longTime, renderJson, renderTable, type Format } from '../table.js';
import { podJson } from '../json-output.js';
import { shortImageId, type ImageId } from '../../spec/image-id.js';
import { formatNets } from './pod-common.js';

interface ListFlags { full?: boolean; legend: boolean; format: Format }

export function registerList(program: Command, io: Io): void {
  program
    .command('list')
    .description('list pods')
    .option('--full', 'show full UUIDs, full image IDs and absolute times')
    .option('--no-legend', 'suppress the header line')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'json-pretty']).default('table'))
    .action(async (f: ListFlags, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const { runtimeDir } = await import('../stage1-registry.js');
      const { listPodStatuses } = await import('../../stage0/pod/pod-status.js');
      const pods = await listPodStatuses(ctx.globals.dir, runtimeDir());
      if (f.format !== 'table') {
        io.out(renderJson(pods.map(podJson), f.format));
        return;
      }
      const now = Date.now();
      const time = (ms: number | null): string => (ms === null ? '' : f.full ? longTime(ms) : humanAgo(ms, now));
      const header = ['UUID', 'APP', 'IMAGE NAME', ...(f.full ? ['IMAGE ID'] : []), 'STATE', 'CREATED', 'STARTED', 'NETWORKS'];
      const rows: string[][] = [];
      for (const p of pods) {
        const uuid = f.full ? p.uuid : p.uuid.slice(0, 8);
        const podCols = [p.state, time(p.created), time(p.started), formatNets(p.networks)];
        if (p.apps.length === 0) {
          rows.push([uuid, '-', '-', ...(f.full ? ['-'] : []), ...podCols]);
          continue;
        }
        p.apps.forEach((a, i) => {
          const appCols = [a.name, a.imageName, ...(f.full ? [a.imageId === '' ? '-' : shortImageId(a.imageId as ImageId, 64)] : [])];
          rows.push(i === 0 ? [uuid, ...appCols, ...podCols] : ['', ...appCols, '', '', '', '']);
        });
      }
      io.out(renderTable(header, rows, f.legend));
    });
}
