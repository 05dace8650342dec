import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';

const run = (file: string, args: string[]): Promise<void> =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000 }, (e, _out, err) => {
      if (e) reject(new CapsuleError('netns', `${path.basename(file)} ${args.join(' ')}: ${err.trim() || e.message}`));
      else resolve();
    });
  });

/**
 * A new network namespace kept alive by a bind mount on `file` (util-linux `unshare --net=FILE`,
 * as `ip netns add` does under /run/netns), its loopback up. The file is created first; on failure
 * nothing is left.
 */
export async function createNetns(file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, '', { mode: 0o444, flag: 'wx' });
  try {
    await run('/usr/bin/unshare', [`--net=${file}`, '/usr/sbin/ip', 'link', 'set', 'lo', 'up']);
  } catch (e) {
    await removeNetns(file).catch(() => undefined);
    throw e;
  }
}

function isMountPoint(file: string): boolean {
  try {
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    return mounts.split('\n').some((l) => l.split(' ')[4] === file);
  } catch {
    return false;
  }
}

/** Unmounts (lazily) and removes a namespace file; a file already gone is fine (idempotent). */
export async function removeNetns(file: string): Promise<void> {
  if (!fs.existsSync(file)) return;
  if (isMountPoint(file)) await run('/usr/bin/umount', ['-l', file]);
  try {
    fs.rmSync(file, { force: true });
  } catch (e) {
    // Still a mount point in some other mount namespace made while it was bound (a service's
    // private namespace): unbound here, the namespace itself is freed when that one goes.
    if ((e as NodeJS.ErrnoException).code !== 'EBUSY') throw e;
  }
}
