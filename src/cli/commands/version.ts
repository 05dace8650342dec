import { Option, type Command } from 'commander';
import type { Io } from '../io.js';
import { renderJson, type Format } from '../table.js';
import { APPC_SPEC_VERSION, CAPSULE_VERSION } from '../../version.js';
import { findNspawn } from '../../sys/nspawn-version.js';
import { hostOsArch } from '../../spec/os-arch.js';

export function registerVersion(program: Command, io: Io): void {
  program
    .command('version')
    .description('print the versions of Capsule, the appc spec, Node and systemd-nspawn')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'json-pretty']).default('table'))
    .action(async (f: { format: Format }) => {
      const nspawn = await findNspawn();
      const { os, arch } = hostOsArch();
      if (f.format !== 'table') {
        const v = { capsule_version: CAPSULE_VERSION, appc_version: APPC_SPEC_VERSION, node_version: process.version, os, arch, systemd_nspawn: nspawn ? { version: nspawn.version, path: nspawn.path } : null };
        io.out(renderJson(v, f.format));
        return;
      }
      io.out(
        [
          `capsule Version: ${CAPSULE_VERSION}`,
          `appc Version: ${APPC_SPEC_VERSION}`,
          `Node Version: ${process.version}`,
          `Node OS/Arch: ${os}/${arch}`,
          `systemd-nspawn Version: ${nspawn ? `${nspawn.version} (${nspawn.path})` : 'not found'}`,
        ].join('\n') + '\n',
      );
    });
}
