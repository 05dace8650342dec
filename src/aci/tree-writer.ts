import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';
import { entryAttrs, entryWriting, fsSeconds, writeFileEntry, writeSymlinkEntry, type EntryAttrs, type EntryWriting } from './entry-write.js';
import { classifyLinkTarget, DEFAULT_LIMITS, type ExtractLimits } from './entry-policy.js';
import type { TarEntry } from './tar-reader.js';

export interface NodeRecord {
  type: 'dir' | 'file' | 'symlink';
  layer: number;
  explicit: boolean;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  digest: string;
}

export type EntryFilter = (rel: string, isDir: boolean) => boolean;

const bad = (why: string): CapsuleError => new CapsuleError('hostile-image', why);

/**
 * Writes tar entries into a directory this process created and nobody else writes to.
 * Safety does not depend on path cleaning alone: every entry's ancestors must be directories
 * this writer made (so no symlink is ever traversed), files are created with O_EXCL|O_NOFOLLOW,
 * hardlinks may only name regular files already written here. Layers are applied top-down,
 * first writer wins (appc rendering), so nothing is ever overwritten.
 *
 * In `replay` mode nothing is written: the same decisions are made and file contents are hashed,
 * so `digest()` says what a correct rendering must look like (`image verify` compares it with
 * `digestTree` of the tree on disk). Writing does not hash contents (fetch speed).
 */
export type WriterMode = 'write' | 'replay';

export class TreeWriter {
  readonly nodes = new Map<string, NodeRecord>();
  private layer = 0;
  private filter: EntryFilter | undefined;
  private readonly writing: EntryWriting;
  entries = 0;

  constructor(
    readonly root: string,
    private readonly limits: ExtractLimits = DEFAULT_LIMITS,
    readonly mode: WriterMode = 'write',
  ) {
    this.writing = entryWriting(mode === 'write');
  }

  /** Starts the next (lower-priority) layer; entries claimed by earlier layers win. */
  nextLayer(filter?: EntryFilter): void {
    this.layer++;
    this.filter = filter;
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, rel);
  }

  /** Returns false when the entry is hidden by a higher layer or filtered out. */
  private ancestorsOk(rel: string): boolean {
    const parts = rel.split('/');
    let prefix = '';
    for (let i = 0; i < parts.length - 1; i++) {
      prefix = prefix === '' ? parts[i]! : `${prefix}/${parts[i]!}`;
      const n = this.nodes.get(prefix);
      if (n === undefined) {
        if (this.writes) fs.mkdirSync(this.abs(prefix), 0o700);
        this.nodes.set(prefix, { type: 'dir', layer: this.layer, explicit: false, mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, digest: '' });
      } else if (n.type !== 'dir') {
        if (n.layer !== this.layer) return false; // a higher layer replaced this directory
        throw bad(`entry "rootfs/${rel}" would be written through the ${n.type} "rootfs/${prefix}"`);
      }
    }
    return true;
  }

  /** Applies the rootfs directory's own attributes. */
  setRootAttributes(e: TarEntry): void {
    if (this.layer > 1) return;
    this.nodes.set('', { type: 'dir', layer: this.layer, explicit: true, mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, mtime: fsSeconds(e.mtime), size: 0, digest: '' });
  }

  async add(e: TarEntry, rel: string): Promise<void> {
    if (++this.entries > this.limits.maxEntries) throw bad(`image has more than ${this.limits.maxEntries} entries`);
    if (!this.ancestorsOk(rel)) return;
    const existing = this.nodes.get(rel);
    const isDir = e.type === 'directory';
    if (existing !== undefined) {
      if (existing.layer === this.layer) {
        if (existing.type === 'dir' && !existing.explicit && isDir) {
          Object.assign(existing, this.attrs(e), { explicit: true });
          return;
        }
        throw bad(`duplicate file entry in archive: "rootfs/${rel}"`);
      }
      return; // claimed by a higher layer
    }
    if (this.filter && !this.filter(rel, isDir)) return;
    const p = this.abs(rel);
    switch (e.type) {
      case 'directory':
        if (this.writes) fs.mkdirSync(p, 0o700);
        this.nodes.set(rel, { type: 'dir', layer: this.layer, explicit: true, ...this.attrs(e), size: 0, digest: '' });
        return;
      case 'file':
        await this.writeFile(e, rel, p);
        return;
      case 'symlink': {
        if (e.linkpath === '' || Buffer.byteLength(e.linkpath) > this.limits.maxPathBytes) throw bad(`symlink "rootfs/${rel}" has an empty or too long target`);
        const a = this.attrs(e);
        writeSymlinkEntry(e.linkpath, p, a, this.writing);
        this.nodes.set(rel, { type: 'symlink', layer: this.layer, explicit: true, ...a, mode: 0o777, size: 0, digest: e.linkpath });
        return;
      }
      case 'hardlink': {
        const target = classifyLinkTarget(e.linkpath, this.limits);
        const t = this.nodes.get(target);
        if (t === undefined || t.type !== 'file') throw bad(`hardlink "rootfs/${rel}" points to ${JSON.stringify(e.linkpath)}, which is not a regular file written earlier in this image`);
        if (this.writes) fs.linkSync(this.abs(target), p);
        this.nodes.set(rel, { ...t, layer: this.layer });
        return;
      }
      default:
        throw bad(`entry "rootfs/${rel}" has unsupported type ${e.rawType}`);
    }
  }

  private attrs(e: TarEntry): EntryAttrs {
    return entryAttrs(e, this.writing);
  }

  private get writes(): boolean {
    return this.mode === 'write';
  }

  private async writeFile(e: TarEntry, rel: string, p: string): Promise<void> {
    const a = this.attrs(e);
    const { size, digest } = await writeFileEntry(e, p, a, this.writing);
    this.nodes.set(rel, { type: 'file', layer: this.layer, explicit: true, ...a, size, digest });
  }

  /** Removes a non-directory this writer created (pathWhitelist filtering). */
  removeFile(rel: string): void {
    const n = this.nodes.get(rel);
    if (n === undefined || n.type === 'dir') return;
    if (this.writes) fs.unlinkSync(this.abs(rel));
    this.nodes.delete(rel);
  }

  /** Directory modes, owners and times last (deepest first) so read-only dirs could be filled. */
  finish(): void {
    const dirs = [...this.nodes.entries()].filter(([, n]) => n.type === 'dir').sort((a, b) => b[0].length - a[0].length);
    if (!this.nodes.has('')) this.nodes.set('', { type: 'dir', layer: 1, explicit: false, mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, digest: '' });
    dirs.push(['', this.nodes.get('')!]);
    for (const [rel, n] of dirs) {
      const p = this.abs(rel);
      if (!this.writing.chown) {
        n.uid = this.writing.uid;
        n.gid = this.writing.gid;
      } else if (this.writes) fs.chownSync(p, n.uid, n.gid);
      if (!this.writes) continue;
      fs.chmodSync(p, n.mode);
      fs.utimesSync(p, n.mtime, n.mtime);
    }
  }

  /** The digest a correct tree has; meaningful in `replay` mode (writing does not hash contents). */
  digest(): string {
    if (this.writes) throw new Error('TreeWriter.digest() needs replay mode');
    return digestRecords([...this.nodes.entries()]);
  }
}

export function digestRecords(records: [string, Pick<NodeRecord, 'type' | 'mode' | 'uid' | 'gid' | 'mtime' | 'size' | 'digest'>][]): string {
  const h = createHash('sha512');
  for (const [rel, n] of records.filter(([r]) => r !== '').sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const mtime = n.type === 'symlink' ? 0 : n.mtime;
    h.update(`${rel}\0${n.type}\0${n.mode.toString(8)}\0${n.uid}\0${n.gid}\0${mtime}\0${n.size}\0${n.digest}\n`);
  }
  return `sha512-${h.digest('hex')}`;
}
