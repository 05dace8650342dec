import { describe, expect, it } from 'vitest';
import { explainNoSpace } from '../../../src/cli/no-space.js';
import { CapsuleError } from '../../../src/errors/capsule-error.js';
import { formatError } from '../../../src/errors/format.js';
import type { FilesystemInfo } from '../../../src/sys/filesystem.js';

const sysErr = (code: string, syscall: string, p?: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: ${syscall}`), { code, syscall, ...(p ? { path: p } : {}) });
const sqliteErr = (code: string): Error => Object.assign(new Error(code === 'SQLITE_FULL' ? 'database or disk is full' : 'disk I/O error'), { code });

function fsAt(free: number): (p: string) => FilesystemInfo {
  return (p) => ({ mountPoint: p.startsWith('/big') ? '/big' : '/data', fsType: 'tmpfs', freeBytes: free, totalBytes: 8 * 1024 * 1024 });
}
const show = (e: unknown, free: number): string => formatError('run', explainNoSpace(e, '/data/capsule', false, fsAt(free)), false);

describe('explainNoSpace: a full disk is named as such, with its filesystem', () => {
  it("SQLite's I/O error on a nearly full data dir", () => {
    const e = new CapsuleError('store', 'opening the image index /data/capsule/cas/db/index.sqlite', { cause: sqliteErr('SQLITE_IOERR_SHMSIZE') });
    expect(show(e, 4096)).toBe('run: opening the image index /data/capsule/cas/db/index.sqlite: no space left on device on the filesystem at /data (tmpfs, 4KiB free of 8MiB)');
  });

  it('an I/O error with space left stays an I/O error', () => {
    const e = new CapsuleError('store', 'opening the image index x', { cause: sqliteErr('SQLITE_IOERR') });
    expect(show(e, 100 * 1024 * 1024)).toBe('run: opening the image index x: disk I/O error');
  });

  it('SQLITE_FULL, whatever statfs says', () => {
    const e = new CapsuleError('store', 'recording the image', { cause: sqliteErr('SQLITE_FULL') });
    expect(show(e, 100 * 1024 * 1024)).toMatch(/^run: recording the image: no space left on device on the filesystem at \/data /);
  });

  it('ENOSPC keeps every step that said what was being done, and names the path\'s filesystem', () => {
    const e = new CapsuleError('fetch', 'fetching image from file "a.aci"', { cause: new CapsuleError('store', 'writing the blob', { cause: sysErr('ENOSPC', 'write', '/big/x') }) });
    expect(show(e, 0)).toBe('run: fetching image from file "a.aci": writing the blob: no space left on device on the filesystem at /big (tmpfs, 0B free of 8MiB)');
  });

  it('a bare ENOSPC from the data dir', () => {
    expect(show(sysErr('ENOSPC', 'write'), 0)).toBe('run: no space left on device on the filesystem at /data (tmpfs, 0B free of 8MiB)');
  });

  it('anything else is unchanged', () => {
    const e = new CapsuleError('x', 'doing', { cause: sysErr('EACCES', 'open', '/x') });
    expect(explainNoSpace(e, '/data', false, fsAt(0))).toBe(e);
  });
});
