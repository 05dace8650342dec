import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GlobalOptions } from '../config/global-options.js';
import { CapsuleError } from '../errors/capsule-error.js';
import type { NetEnv, Stage1, Stage1Env, Stage1Flavour } from '../stage1/contract.js';
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
    net: netEnv(g, env),
  };
}

/**
 * Networking's places: net.d under the system then the local config dir (local wins); plugins
 * from the `cniPath` of `paths.d/*.json` (system, then local config; `{"capsuleKind": "paths",
 * "capsuleVersion": "v1", "cniPath": "/opt/cni/bin:…"}`) before Debian's /usr/lib/cni; pod
 * namespaces under `<runtime dir>/netns`.
 */
export function netEnv(g: GlobalOptions, env: NodeJS.ProcessEnv = process.env): NetEnv {
  const extra: string[] = [];
  for (const dir of [g.systemConfig, g.localConfig]) {
    const d = path.join(dir, 'paths.d');
    let names: string[] = [];
    try {
      names = fs.readdirSync(d).filter((n) => n.endsWith('.json')).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      let v: unknown;
      try {
        v = JSON.parse(fs.readFileSync(path.join(d, n), 'utf8'));
      } catch (e) {
        throw new CapsuleError('config', `${path.join(d, n)}: not valid JSON`, { cause: e });
      }
      const o = v as Record<string, unknown>;
      if (o.capsuleKind !== 'paths') continue;
      if (typeof o.cniPath === 'string') extra.unshift(...o.cniPath.split(':').filter((p) => path.isAbsolute(p)));
    }
  }
  return {
    confDirs: [path.join(g.systemConfig, 'net.d'), path.join(g.localConfig, 'net.d')],
    pluginPath: [...new Set([...extra, '/usr/lib/cni'])],
    netnsDir: path.join(runtimeDir(env), 'netns'),
  };
}
