import fs from 'node:fs';
import path from 'node:path';
import { ByteReader } from '../aci/byte-reader.js';
import { layerEntryName } from '../aci/entry-policy.js';
import { readTar } from '../aci/tar-reader.js';
import { CapsuleError } from '../errors/capsule-error.js';

/**
 * Named files of a local image source, read by name: an OCI layout directory, or the members of
 * an uncompressed tar (oci-archive, docker-archive) found by one scan and then read in place,
 * so an archive is never unpacked to disk. Names are relative paths (`index.json`,
 * `blobs/sha256/<hex>`); nothing here is trusted (the importer checks sizes and digests).
 */
export interface FileSet {
  readonly description: string;
  /** Size in bytes, or undefined when there is no regular file of that name. */
  size(name: string): number | undefined;
  /** The bytes from `offset` to the end. */
  stream(name: string, offset: number): AsyncIterable<Buffer>;
  names(): string[];
}

/** Reads a whole small file, refusing one larger than `max`. */
export async function readSmall(files: FileSet, name: string, max: number, what: string): Promise<Buffer> {
  const size = files.size(name);
  if (size === undefined) throw new CapsuleError('bad-layout', `${files.description}: no ${name}`);
  if (size > max) throw new CapsuleError('too-large', `${files.description}: ${what} is ${size} bytes, more than ${max}`);
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of files.stream(name, 0)) {
    n += c.length;
    if (n > max) throw new CapsuleError('too-large', `${files.description}: ${what} is larger than ${max} bytes`);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/**
 * An OCI image-layout directory, read only. Names are checked (no `..`, not absolute); the
 * layout belongs to the user who names it, so symlinks in it are followed as podman does.
 */
export class DirFiles implements FileSet {
  constructor(
    readonly dir: string,
    readonly description: string,
  ) {}

  private p(name: string): string {
    return path.join(this.dir, layerEntryName(name, undefined, 'file name'));
  }

  size(name: string): number | undefined {
    try {
      const st = fs.statSync(this.p(name));
      return st.isFile() ? st.size : undefined;
    } catch {
      return undefined;
    }
  }

  async *stream(name: string, offset: number): AsyncIterable<Buffer> {
    for await (const c of fs.createReadStream(this.p(name), { start: offset, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) yield c;
  }

  names(): string[] {
    const out: string[] = [];
    const walk = (rel: string, depth: number): void => {
      if (depth > 3) return;
      for (const e of fs.readdirSync(rel === '' ? this.dir : path.join(this.dir, rel), { withFileTypes: true })) {
        const r = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) walk(r, depth + 1);
        else out.push(r);
      }
    };
    walk('', 0);
    return out;
  }
}

interface Member {
  offset: number;
  size: number;
}

/** Members of an uncompressed tar, indexed by one pass of the shared tar reader. */
export class TarFiles implements FileSet {
  private constructor(
    readonly file: string,
    readonly description: string,
    private readonly members: Map<string, Member>,
    private readonly links: Map<string, string>,
  ) {}

  /**
   * A member's name with symlinks among the members followed (older `docker save` links repeated
   * layers to the first copy): relative targets only, never out of the archive, at most 8 hops.
   */
  private resolve(name: string): string | undefined {
    let n = name;
    for (let hop = 0; hop < 8; hop++) {
      if (this.members.has(n)) return n;
      const t = this.links.get(n);
      if (t === undefined || t.startsWith('/')) return undefined;
      const joined = path.posix.normalize(path.posix.join(path.posix.dirname(n), t));
      if (joined.startsWith('../') || joined === '..') return undefined;
      n = joined;
    }
    return undefined;
  }

  static async open(file: string, description: string): Promise<TarFiles> {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw new CapsuleError('image-file', `unable to open ${JSON.stringify(file)}`, { cause: e });
    }
    try {
      const head = Buffer.alloc(6);
      fs.readSync(fd, head, 0, 6, 0);
      if ((head[0] === 0x1f && head[1] === 0x8b) || head.readUInt32LE(0) === 0xfd2fb528 || head.subarray(0, 3).toString('latin1') === 'BZh' || head[0] === 0xfd) {
        throw new CapsuleError('bad-archive', `${description} is compressed; decompress it first (an archive is read in place, as a plain tar)`);
      }
    } finally {
      fs.closeSync(fd);
    }
    const members = new Map<string, Member>();
    const links = new Map<string, string>();
    const src = fs.createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
    const reader = new ByteReader(src);
    try {
      for await (const e of readTar(src, reader)) {
        if (e.type !== 'file' && e.type !== 'symlink') continue;
        const name = layerEntryName(e.path, undefined, 'archive member name');
        if (members.has(name) || links.has(name)) throw new CapsuleError('bad-archive', `${description}: duplicate member ${JSON.stringify(name)}`);
        if (members.size >= 100_000) throw new CapsuleError('bad-archive', `${description}: more than 100000 members`);
        if (e.type === 'symlink') links.set(name, e.linkpath);
        else members.set(name, { offset: reader.position, size: e.size });
      }
    } catch (e) {
      if (e instanceof CapsuleError) throw new CapsuleError(e.code, `reading ${description}`, { cause: e });
      throw e;
    }
    return new TarFiles(file, description, members, links);
  }

  size(name: string): number | undefined {
    const r = this.resolve(name);
    return r === undefined ? undefined : this.members.get(r)?.size;
  }

  async *stream(name: string, offset: number): AsyncIterable<Buffer> {
    const r = this.resolve(name);
    const m = r === undefined ? undefined : this.members.get(r);
    if (!m) throw new CapsuleError('bad-layout', `${this.description}: no ${name}`);
    if (offset >= m.size) return;
    for await (const c of fs.createReadStream(this.file, { start: m.offset + offset, end: m.offset + m.size - 1, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) yield c;
  }

  names(): string[] {
    return [...this.members.keys()];
  }
}
