/**
 * Cgroups a test makes for a systemd-nspawn it starts by hand. nspawn makes `payload/` and
 * `supervisor/` cgroups (and a booted systemd its `init.scope`) inside the cgroup it starts in, so
 * started from the test's own cgroup (often the root) they would outlive the test. A scratch
 * cgroup of the test's own, entered just before exec and removed with its whole tree afterwards,
 * keeps them off the host.
 */
import fs from 'node:fs';
import path from 'node:path';
import { removeCgroupTrees } from '../../src/stage1/common/cgroup-host.js';

/** The hierarchies nspawn places itself in: the v2 root, or v1's name=systemd plus the hybrid unified one. */
export function nspawnHierarchies(): string[] {
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) return ['/sys/fs/cgroup'];
  return ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'].filter((h) => fs.existsSync(path.join(h, 'cgroup.procs')));
}

/** A fresh cgroup named `name` in each of nspawn's hierarchies. */
export interface ScratchCgroup {
  readonly dirs: readonly string[];
  /** A shell line that moves the shell itself (`$$`) into every scratch cgroup. */
  readonly joinShell: string;
  remove(): Promise<void>;
}

export function makeScratchCgroup(name: string): ScratchCgroup {
  const dirs = nspawnHierarchies().map((h) => path.join(h, name));
  for (const d of dirs) fs.mkdirSync(d);
  return {
    dirs,
    joinShell: [...dirs.map((d) => `echo $$ > '${d}/cgroup.procs'`), 'true'].join(' && '),
    remove: async () => {
      await removeCgroupTrees(dirs);
    },
  };
}
