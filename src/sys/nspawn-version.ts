import { existsSync, readdirSync } from 'node:fs';

export const NSPAWN_CANDIDATES = ['/usr/bin/systemd-nspawn', '/bin/systemd-nspawn'];

/** Directories where systemd installs libsystemd-shared-<version>.so, which nspawn links against. */
const SHARED_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu/systemd', '/usr/lib/aarch64-linux-gnu/systemd', '/usr/lib/systemd', '/lib/systemd'];

/**
 * The host's systemd-nspawn and its version, or undefined when it is not installed. The version
 * comes from the name of the libsystemd-shared library nspawn is built with (no process spawn on
 * the `capsule version` path); `systemd-nspawn --version` is asked only when that is not found.
 */
export async function findNspawn(candidates = NSPAWN_CANDIDATES, libDirs = SHARED_LIB_DIRS): Promise<{ path: string; version: string } | undefined> {
  const p = candidates.find((c) => existsSync(c));
  if (!p) return undefined;
  for (const dir of libDirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    const m = names.map((n) => /^libsystemd-shared-(\d+)\.so$/.exec(n)).find((x) => x !== null);
    if (m) return { path: p, version: m[1]! };
  }
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string>((resolve) => {
    execFile(p, ['--version'], { timeout: 5000 }, (err, stdout) => resolve(err ? '' : stdout));
  });
  const v = /systemd\s+(\d+)/.exec(out);
  return { path: p, version: v?.[1] ?? 'unknown' };
}
