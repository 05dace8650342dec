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

/**
 * Gives an app /etc/hostname, a fallback /etc/hosts (only when the image has none, like rkt) and
 * /etc/mtab. `target` is where to write (the overlay upper dir, or the app's private copy);
 * `image` is the image's rootfs as the app will see it underneath. Nothing is written through a
 * symlink: when the image's /etc is not a plain directory, the files are left to the image.
 */
export function writeEtcFiles(target: string, image: string, hostname: string): void {
  const imageEtc = lstat(path.join(image, 'etc'));
  if (imageEtc && !imageEtc.isDirectory()) return;
  const etc = path.join(target, 'etc');
  const st = lstat(etc);
  if (st && !st.isDirectory()) return;
  if (!st) fs.mkdirSync(etc, { mode: 0o755 });
  writeNoFollow(path.join(etc, 'hostname'), `${hostname}\n`);
  if (!lstat(path.join(image, 'etc/hosts'))) {
    writeNoFollow(path.join(etc, 'hosts'), `127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4 ${hostname}\n::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6 ${hostname}\n`);
  }
  if (!lstat(path.join(image, 'etc/mtab')) && !lstat(path.join(etc, 'mtab'))) fs.symlinkSync('../proc/self/mounts', path.join(etc, 'mtab'));
}
