import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export const NSPAWN_CANDIDATES = ['/usr/bin/systemd-nspawn', '/bin/systemd-nspawn'];

/** The host's systemd-nspawn and its version, or undefined when it is not installed. */
export async function findNspawn(candidates = NSPAWN_CANDIDATES): Promise<{ path: string; version: string } | undefined> {
  const p = candidates.find((c) => existsSync(c));
  if (!p) return undefined;
  const out = await new Promise<string>((resolve) => {
    execFile(p, ['--version'], { timeout: 5000 }, (err, stdout) => resolve(err ? '' : stdout));
  });
  const m = /systemd\s+(\d+)/.exec(out);
  return { path: p, version: m?.[1] ?? 'unknown' };
}
