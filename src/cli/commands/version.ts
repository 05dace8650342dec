import type { Command } from 'commander';
import type { Io } from '../io.js';
import { APPC_SPEC_VERSION, CAPSULE_VERSION } from '../../version.js';
import { findNspawn } from '../../sys/nspawn-version.js';
import { hostOsArch } from '../../spec/os-arch.js';

export function registerVersion(program: Command, io: Io): void {
  program
    .command('version')
    .description('print the versions of Capsule, the appc spec, Node and systemd-nspawn')
    .action(async () => {
      const nspawn = await findNspawn();
      const { os, arch } = hostOsArch();
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
