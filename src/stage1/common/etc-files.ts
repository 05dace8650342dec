import fs from 'node:fs';
import path from 'node:path';

function lstat(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
}

/** Creates or replaces a regular file without following a symlink an image may have put there. */
function writeNoFollow(p: string, content: string): void {
  const st = lstat(p);
  if (st && !st.isFile()) fs.rmSync(p, { force: true });
  const fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o644);
  try {
    fs.writeSync(fd, content);
  } finally {
    fs.closeSync(fd);
  }
}

/** The image's own regular file at `rel` under `image` (never through a symlink), or null. */
export function readImageEtcFile(image: string, rel: string): string | null {
  const p = path.join(image, rel);
  const st = lstat(p);
  if (!st?.isFile() || st.size > 1 << 20) return null;
  let fd: number;
  try {
    fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** Networking's files: /etc/hosts from the image's (null: it has none), /etc/resolv.conf (null: leave the image's). */
export interface NetEtcFiles {
  hosts(imageHosts: string | null): string;
  resolv: string | null;
}

/**
 * Gives an app /etc/hostname, /etc/hosts (with `net`: networking's; without: a fallback only when
 * the image has none, like rkt), /etc/resolv.conf (with `net`, when it says so) and /etc/mtab. `target` is where to write (the overlay upper dir, or the app's private copy);
 * `image` is the image's rootfs as the app will see it underneath. Nothing is written through a
 * symlink: when the image's /etc is not a plain directory, the files are left to the image.
 */
export function writeEtcFiles(target: string, image: string, hostname: string, net?: NetEtcFiles): void {
  const imageEtc = lstat(path.join(image, 'etc'));
  if (imageEtc && !imageEtc.isDirectory()) return;
  const etc = path.join(target, 'etc');
  const st = lstat(etc);
  if (st && !st.isDirectory()) return;
  if (!st) fs.mkdirSync(etc, { mode: 0o755 });
  writeNoFollow(path.join(etc, 'hostname'), `${hostname}\n`);
  if (net) {
    const imageHosts = readImageEtcFile(image, 'etc/hosts');
    // An image's /etc/hosts that is a symlink (or anything not a file) is left to the image.
    if (imageHosts !== null || !lstat(path.join(image, 'etc/hosts'))) writeNoFollow(path.join(etc, 'hosts'), net.hosts(imageHosts));
    const r = lstat(path.join(image, 'etc/resolv.conf'));
    if (net.resolv !== null && (!r || r.isFile() || r.isSymbolicLink())) writeNoFollow(path.join(etc, 'resolv.conf'), net.resolv);
  } else if (!lstat(path.join(image, 'etc/hosts'))) {
    writeNoFollow(path.join(etc, 'hosts'), `127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4 ${hostname}\n::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6 ${hostname}\n`);
  }
  if (!lstat(path.join(image, 'etc/mtab')) && !lstat(path.join(etc, 'mtab'))) fs.symlinkSync('../proc/self/mounts', path.join(etc, 'mtab'));
}
