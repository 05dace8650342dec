import fs from 'node:fs';
import path from 'node:path';
import { parseProcCgroup, type CgroupHost } from './cgroups.js';

const exists = (p: string): boolean => fs.existsSync(p);

/** Reads the host's cgroup layout and the caller's place in it. */
export function detectCgroupHost(root: string, procSelfCgroup = '/proc/self/cgroup'): CgroupHost {
  const text = fs.readFileSync(procSelfCgroup, 'utf8');
  if (exists(path.join(root, 'cgroup.controllers'))) return { version: 'v2', root, tracking: [], own: parseProcCgroup(text, 'v2') };
  const dirName = (c: string): string | undefined => {
    const p = path.join(root, c);
    if (!exists(p)) return undefined;
    return path.basename(fs.realpathSync(p));
  };
  const host: CgroupHost = { version: 'v1', root, tracking: [], own: parseProcCgroup(text, 'v1') };
  const memory = dirName('memory');
  const cpu = dirName('cpu');
  if (memory) host.memory = memory;
  if (cpu) host.cpu = cpu;
  const devices = dirName('devices');
  if (devices) host.devices = devices;
  if (exists(path.join(root, 'systemd', 'cgroup.procs'))) host.tracking.push('systemd');
  if (exists(path.join(root, 'unified', 'cgroup.controllers'))) host.tracking.push('unified');
  return host;
}

function subdirsDeepestFirst(dir: string): string[] {
  const out: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) if (e.isDirectory()) out.push(...subdirsDeepestFirst(path.join(dir, e.name)));
  out.push(dir);
  return out;
}

function killAll(dir: string): void {
  let procs = '';
  try {
    procs = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    return;
  }
  for (const pid of procs.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Removes a pod's cgroups, including the `payload`/`supervisor` groups nspawn makes inside them.
 * Leftover processes are killed first. Idempotent: a missing cgroup is already removed.
 * Returns the directories that could not be removed.
 */
export async function removeCgroupTrees(roots: readonly string[]): Promise<string[]> {
  const failed: string[] = [];
  for (const root of roots) {
    for (const dir of subdirsDeepestFirst(root)) {
      for (let attempt = 0; ; attempt++) {
        try {
          fs.rmdirSync(dir);
          break;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || attempt >= 50) {
            failed.push(dir);
            break;
          }
          killAll(dir);
          await sleep(20);
        }
      }
    }
  }
  return failed;
}
