import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GlobalOptions } from '../config/global-options.js';
import type { Stage1, Stage1Env, Stage1Flavour } from '../stage1/contract.js';
import { nspawnStage1 } from '../stage1/nspawn/nspawn-stage1.js';
import { flyStage1 } from '../stage1/fly/fly-stage1.js';

/** The composition root for flavours: stage0 gets them from here, never imports them. */
export function stage1For(flavour: Stage1Flavour): Stage1 {
  return flavour === 'fly' ? flyStage1 : nspawnStage1;
}

/** Where the runtime keeps pod locks: CAPSULE_RUNTIME_DIR, default /run/capsule. */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.CAPSULE_RUNTIME_DIR ?? '/run/capsule');
}

/** The helper binary sits beside the bundle: dist/cli/main.cjs → dist/libexec/capsule-stage1. */
export function libexecDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CAPSULE_LIBEXEC_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../libexec');
}

export function stage1Env(g: GlobalOptions, podDir: string, env: NodeJS.ProcessEnv = process.env): Stage1Env {
  return {
    podDir,
    treeDir: path.join(g.dir, 'tree'),
    libexecDir: libexecDir(env),
    cgroupRoot: env.CAPSULE_CGROUP_ROOT ?? '/sys/fs/cgroup',
    env: { ...env },
  };
}
