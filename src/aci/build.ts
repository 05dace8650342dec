import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { CapsuleError } from '../errors/capsule-error.js';
import { imageIdFromHex, type ImageId } from '../spec/image-id.js';
import { parseImageManifest, type ImageManifest } from '../spec/image-manifest.js';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeaderFields } from './tar-writer.js';

export interface BuildOptions {
  compression: 'gzip' | 'none';
  /** Clamp every mtime to at most this (SOURCE_DATE_EPOCH); undefined keeps mtimes. */
  clampMtime?: Date;
  overwrite: boolean;
}

export interface BuildResult {
  id: ImageId;
  manifest: ImageManifest;
  out: string;
}

interface Item { rel: string; st: fs.Stats }

/** Sorted, depth-first walk (lstat only) so the same tree always yields the same tar. */
function walk(root: string): Item[] {
  const out: Item[] = [];
  const visit = (rel: string): void => {
    const names = fs.readdirSync(rel === '' ? root : path.join(root, rel)).sort();
    for (const n of names) {
      const r = rel === '' ? n : `${rel}/${n}`;
      const st = fs.lstatSync(path.join(root, r));
      out.push({ rel: r, st });
      if (st.isDirectory()) visit(r);
    }
  };
  visit('');
  return out;
}

/** How a tree becomes an ACI: what to do with files an image may not carry. */
export interface AciWriteOptions {
  /** Clamp every mtime to at most this (SOURCE_DATE_EPOCH); undefined keeps mtimes (to the second). */
  clampMtime?: Date;
  compression: 'gzip' | 'none';
  /** build: refuse setuid/setgid files, devices and FIFOs; export: keep them as they are. */
  special: 'refuse' | 'keep';
  /** Names the command in errors (`build`, `pod-export`). */
  what: string;
}

/** A Linux st_rdev split into major and minor (the glibc encoding). */
function devNumbers(rdev: number): { devmaj: number; devmin: number } {
  return { devmaj: (rdev >>> 8) & 0xfff, devmin: (rdev & 0xff) | ((rdev >>> 12) & 0xfff00) };
}

/**
 * Writes `rootfs/…` from `rootfs` plus `manifest` as an ACI at `out`, atomically (temp file, fsync,
 * rename); the same tree always gives the same bytes. Returns the image ID (SHA-512 of the tar).
 */
export async function writeAci(rootfs: string, manifest: { text: string; mtime: Date }, out: string, o: AciWriteOptions): Promise<ImageId> {
  const rootSt = fs.lstatSync(rootfs);
  const items = walk(rootfs);
  const clamp = (d: Date): Date => (o.clampMtime && d > o.clampMtime ? o.clampMtime : new Date(Math.floor(d.getTime() / 1000) * 1000));
  const hash = createHash('sha512');
  const inodes = new Map<string, string>();
  const refuse = (msg: string): CapsuleError => new CapsuleError(o.what, msg);

  // eslint-disable-next-line @typescript-eslint/require-await -- an async generator so Readable.from streams it with backpressure
  async function* tar(): AsyncGenerator<Buffer> {
    const emit = (b: Buffer): Buffer => {
      hash.update(b);
      return b;
    };
    const meta = (st: fs.Stats): Pick<TarHeaderFields, 'mode' | 'uid' | 'gid' | 'mtime'> => ({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: clamp(st.mtime) });
    yield emit(encodeHeader({ path: 'rootfs/', type: 'Directory', ...meta(rootSt) }));
    for (const { rel, st } of items) {
      const name = `rootfs/${rel}`;
      if (st.isDirectory()) {
        yield emit(encodeHeader({ path: `${name}/`, type: 'Directory', ...meta(st) }));
      } else if (st.isSymbolicLink()) {
        yield emit(encodeHeader({ path: name, type: 'SymbolicLink', ...meta(st), mode: 0o777, linkpath: fs.readlinkSync(path.join(rootfs, rel)) }));
      } else if (st.isFile()) {
        if (o.special === 'refuse' && (st.mode & 0o6000) !== 0) throw refuse(`${name} has the setuid or setgid bit; images may not carry setuid or setgid files`);
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? inodes.get(key) : undefined;
        if (first !== undefined) {
          yield emit(encodeHeader({ path: name, type: 'Link', ...meta(st), linkpath: first }));
          continue;
        }
        if (st.nlink > 1) inodes.set(key, name);
        yield emit(encodeHeader({ path: name, type: 'File', ...meta(st), size: st.size }));
        const fd = fs.openSync(path.join(rootfs, rel), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        try {
          let left = st.size;
          while (left > 0) {
            const buf = Buffer.allocUnsafe(Math.min(left, 1024 * 1024));
            const n = fs.readSync(fd, buf, 0, buf.length, null);
            if (n === 0) throw refuse(`${name} shrank while it was being read`);
            left -= n;
            yield emit(buf.subarray(0, n));
          }
        } finally {
          fs.closeSync(fd);
        }
        yield emit(padding(st.size));
      } else if (o.special === 'refuse') {
        throw refuse(`${name} is a device, FIFO or socket; images may not contain those (the runtime provides /dev)`);
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        yield emit(encodeHeader({ path: name, type: st.isCharacterDevice() ? 'CharacterDevice' : 'BlockDevice', ...meta(st), ...devNumbers(st.rdev) }));
      } else if (st.isFIFO()) {
        yield emit(encodeHeader({ path: name, type: 'FIFO', ...meta(st) }));
      }
      // Sockets cannot be archived; like tar, leave them out.
    }
    const m = Buffer.from(manifest.text);
    yield emit(encodeHeader({ path: 'manifest', type: 'File', mode: 0o644, size: m.length, mtime: clamp(manifest.mtime) }));
    yield emit(m);
    yield emit(padding(m.length));
    yield emit(END_OF_ARCHIVE);
  }

  const abs = path.resolve(out);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}.tmp`);
  try {
    const sink = fs.createWriteStream(tmp, { mode: 0o644 });
    if (o.compression === 'gzip') await pipeline(Readable.from(tar()), zlib.createGzip({ level: 6 }), sink);
    else await pipeline(Readable.from(tar()), sink);
    const h = await fs.promises.open(tmp, 'r+');
    await h.sync();
    await h.close();
    await fs.promises.rename(tmp, abs);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  return imageIdFromHex(hash.digest('hex'));
}

/** `capsule image build DIR OUT.aci`: DIR holds `manifest` and `rootfs/`; output is deterministic. */
export async function buildAci(dir: string, out: string, o: BuildOptions): Promise<BuildResult> {
  let manifestText: string;
  try {
    manifestText = fs.readFileSync(path.join(dir, 'manifest'), 'utf8');
  } catch (e) {
    throw new CapsuleError('build', `reading ${path.join(dir, 'manifest')}`, { cause: e });
  }
  const manifest = parseImageManifest(manifestText);
  const rootfs = path.join(dir, 'rootfs');
  let rootSt: fs.Stats;
  try {
    rootSt = fs.lstatSync(rootfs);
  } catch (e) {
    throw new CapsuleError('build', `reading ${rootfs}`, { cause: e });
  }
  if (!rootSt.isDirectory()) throw new CapsuleError('build', `${rootfs} is not a directory`);
  if (!o.overwrite && fs.existsSync(out)) throw new CapsuleError('exists', `${JSON.stringify(out)} already exists`, { hint: 'pass --overwrite to replace it' });
  const id = await writeAci(rootfs, { text: manifestText, mtime: fs.statSync(path.join(dir, 'manifest')).mtime }, out, {
    compression: o.compression,
    special: 'refuse',
    what: 'build',
    ...(o.clampMtime ? { clampMtime: o.clampMtime } : {}),
  });
  return { id, manifest, out };
}
