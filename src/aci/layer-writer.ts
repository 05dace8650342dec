import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';
import { DEFAULT_LIMITS, layerEntryName, type ExtractLimits } from './entry-policy.js';
import type { TarEntry } from './tar-reader.js';
import { entryAttrs, entryWriting, writeFileEntry, writeSymlinkEntry, type EntryAttrs, type EntryWriting } from './entry-write.js';
import { digestRecords, type NodeRecord, type WriterMode } from './tree-writer.js';

const bad = (why: string): CapsuleError => new CapsuleError('hostile-image', why);

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

/** What a layer held that the tree does not get as it was (reported once per image). */
export interface LayerPolicyReport {
  /** Files whose setuid/setgid bits were cleared (privilege is a runtime decision). */
  privilegeCleared: string[];
  /** Device nodes and FIFOs not materialized (the runtime provides /dev). */
  specialSkipped: string[];
}

/**
 * Applies OCI/Docker layers, bottom layer first, into a directory this process created and
 * nobody else writes to: later layers win, `.wh.NAME` removes NAME of lower layers, and
 * `DIR/.wh..wh..opq` hides every lower-layer child of DIR but none of its own layer's, wherever
 * the marker stands in the tar. Whiteouts are never materialized.
 *
 * The confinement is the ACI writer's (tree-writer.ts): `nodes` is an exact map of the tree, every
 * ancestor of an entry must be a directory this writer made (so no symlink is ever traversed,
 * for writes, whiteouts and hardlinks alike), files are created O_CREAT|O_EXCL|O_NOFOLLOW (a
 * replaced path is unlinked first, never opened for writing), hardlinks may only name regular
 * files already in the tree (also of lower layers), and a removal deletes only what the map says
 * this writer created. Directory modes are applied last.
 *
 * `replay` mode writes nothing and hashes file contents, so `digest()` says what a correct tree
 * looks like (`image verify`).
 */
export class LayerWriter {
  readonly nodes = new Map<string, NodeRecord>();
  private readonly children = new Map<string, Set<string>>();
  readonly report: LayerPolicyReport = { privilegeCleared: [], specialSkipped: [] };
  private layer = 0;
  private readonly writing: EntryWriting;
  entries = 0;

  constructor(
    readonly root: string,
    private readonly limits: ExtractLimits = DEFAULT_LIMITS,
    readonly mode: WriterMode = 'write',
  ) {
    this.writing = entryWriting(mode === 'write');
    this.nodes.set('', { type: 'dir', layer: 0, explicit: false, mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, digest: '' });
    this.children.set('', new Set());
  }

  /** Starts the next (higher) layer. */
  nextLayer(): void {
    this.layer++;
  }

  private get writes(): boolean {
    return this.mode === 'write';
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, rel);
  }

  private setNode(rel: string, n: NodeRecord): void {
    this.nodes.set(rel, n);
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    this.children.get(parent)!.add(slash < 0 ? rel : rel.slice(slash + 1));
    if (n.type === 'dir' && !this.children.has(rel)) this.children.set(rel, new Set());
  }

  private dropNode(rel: string): void {
    this.nodes.delete(rel);
    this.children.delete(rel);
    const slash = rel.lastIndexOf('/');
    this.children.get(slash < 0 ? '' : rel.slice(0, slash))?.delete(slash < 0 ? rel : rel.slice(slash + 1));
  }

  /** Every ancestor of `rel` must be a directory of this tree; missing ones are created (implicit). */
  private ensureParents(rel: string, what: string): void {
    const parts = rel.split('/');
    let prefix = '';
    for (let i = 0; i < parts.length - 1; i++) {
      prefix = prefix === '' ? parts[i]! : `${prefix}/${parts[i]!}`;
      const n = this.nodes.get(prefix);
      if (n === undefined) {
        if (this.writes) fs.mkdirSync(this.abs(prefix), 0o700);
        this.setNode(prefix, { type: 'dir', layer: this.layer, explicit: false, mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, digest: '' });
      } else if (n.type !== 'dir') {
        throw bad(`${what} ${JSON.stringify(rel)} would go through the ${n.type} ${JSON.stringify(prefix)}`);
      }
    }
  }

  /**
   * Removes `rel` and what lies below it. With `lowerOnly`, only what lower layers put there:
   * entries of the current layer stay, and so do the directories holding them.
   */
  private remove(rel: string, lowerOnly: boolean): void {
    const n = this.nodes.get(rel);
    if (n === undefined) return;
    const keep = (x: NodeRecord): boolean => lowerOnly && x.layer === this.layer;
    const visit = (r: string, x: NodeRecord): boolean => {
      let kept = false;
      if (x.type === 'dir') {
        for (const c of [...(this.children.get(r) ?? [])]) {
          const cr = r === '' ? c : `${r}/${c}`;
          if (visit(cr, this.nodes.get(cr)!)) kept = true;
        }
      }
      if (kept || keep(x) || r === '') return true;
      if (this.writes) {
        if (x.type === 'dir') fs.rmdirSync(this.abs(r));
        else fs.unlinkSync(this.abs(r));
      }
      this.dropNode(r);
      return false;
    };
    visit(rel, n);
  }

  async add(e: TarEntry): Promise<void> {
    if (++this.entries > this.limits.maxEntries) throw bad(`image has more than ${this.limits.maxEntries} entries`);
    const rel = layerEntryName(e.path, this.limits);
    if (rel === '') {
      if (e.type !== 'directory') throw bad(`layer entry ${JSON.stringify(e.path)} for the root is not a directory`);
      Object.assign(this.nodes.get('')!, this.attrs(e), { explicit: true });
      return;
    }
    const parts = rel.split('/');
    const base = parts[parts.length - 1]!;
    if (parts.slice(0, -1).some((p) => p.startsWith(WHITEOUT_PREFIX))) throw bad(`layer entry ${JSON.stringify(e.path)} lies below a whiteout name`);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      this.whiteout(rel, base, e.path);
      return;
    }
    let mode = e.mode & 0o7777;
    switch (e.type) {
      case 'char':
      case 'block':
      case 'fifo':
        this.report.specialSkipped.push(rel);
        return;
      case 'other':
        throw bad(`layer entry ${JSON.stringify(e.path)} has unsupported tar type ${JSON.stringify(e.rawType)}`);
      default:
    }
    if (e.type !== 'directory' && e.type !== 'hardlink' && (mode & 0o6000) !== 0) {
      mode &= ~0o6000;
      this.report.privilegeCleared.push(rel);
    }
    this.ensureParents(rel, 'layer entry');
    const existing = this.nodes.get(rel);
    const isDir = e.type === 'directory';
    if (existing !== undefined) {
      if (existing.type === 'dir' && isDir) {
        // Directory over directory: the attributes change, the contents stay (OCI layer rules).
        Object.assign(existing, this.attrs(e), { mode, layer: this.layer, explicit: true });
        return;
      }
      if (existing.layer === this.layer && existing.explicit) throw bad(`duplicate entry in one layer: ${JSON.stringify(rel)}`);
      if (e.type === 'hardlink' && layerEntryName(e.linkpath, this.limits, 'hardlink target') === rel) throw bad(`hardlink ${JSON.stringify(rel)} points to itself`);
      this.remove(rel, false);
    }
    const p = this.abs(rel);
    const a = { ...this.attrs(e), mode };
    switch (e.type) {
      case 'directory':
        if (this.writes) fs.mkdirSync(p, 0o700);
        this.setNode(rel, { type: 'dir', layer: this.layer, explicit: true, ...a, size: 0, digest: '' });
        return;
      case 'file':
        await this.writeFile(e, rel, p, a);
        return;
      case 'symlink': {
        if (e.linkpath === '' || Buffer.byteLength(e.linkpath) > this.limits.maxPathBytes) throw bad(`symlink ${JSON.stringify(rel)} has an empty or too long target`);
        writeSymlinkEntry(e.linkpath, p, a, this.writing);
        this.setNode(rel, { type: 'symlink', layer: this.layer, explicit: true, ...a, mode: 0o777, size: 0, digest: e.linkpath });
        return;
      }
      case 'hardlink': {
        const target = layerEntryName(e.linkpath, this.limits, 'hardlink target');
        const t = target === '' ? undefined : this.nodes.get(target);
        if (t === undefined || t.type !== 'file') {
          throw bad(`hardlink ${JSON.stringify(rel)} points to ${JSON.stringify(e.linkpath)}, which is not a regular file of this image`);
        }
        if (this.writes) fs.linkSync(this.abs(target), p);
        this.setNode(rel, { ...t, layer: this.layer, explicit: true });
        return;
      }
      default:
        throw bad(`layer entry ${JSON.stringify(rel)} has unsupported type ${e.rawType}`);
    }
  }

  private whiteout(rel: string, base: string, raw: string): void {
    const slash = rel.lastIndexOf('/');
    const dir = slash < 0 ? '' : rel.slice(0, slash);
    if (base === OPAQUE_WHITEOUT) {
      // The directory is in this layer (the marker lives in it); lower layers' children go.
      const marker = `${dir === '' ? '' : `${dir}/`}${OPAQUE_WHITEOUT}`;
      this.ensureParents(marker, 'opaque whiteout');
      if (dir !== '' && !this.nodes.has(dir)) {
        if (this.writes) fs.mkdirSync(this.abs(dir), 0o700);
        this.setNode(dir, { type: 'dir', layer: this.layer, explicit: false, mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, digest: '' });
      }
      const d = this.nodes.get(dir)!;
      if (d.type !== 'dir') throw bad(`opaque whiteout ${JSON.stringify(raw)} is inside the ${d.type} ${JSON.stringify(dir)}`);
      for (const c of [...(this.children.get(dir) ?? [])]) this.remove(dir === '' ? c : `${dir}/${c}`, true);
      return;
    }
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') throw bad(`invalid whiteout ${JSON.stringify(raw)}`);
    if (name.startsWith(WHITEOUT_PREFIX)) throw bad(`invalid whiteout ${JSON.stringify(raw)} (the ".wh..wh." prefix is reserved)`);
    const target = dir === '' ? name : `${dir}/${name}`;
    // The whiteout's directory must be one of the tree's directories (never reached through a link).
    this.ensureParents(target, 'whiteout of');
    this.remove(target, true);
  }

  private attrs(e: TarEntry): EntryAttrs {
    return entryAttrs(e, this.writing);
  }

  private async writeFile(e: TarEntry, rel: string, p: string, a: EntryAttrs): Promise<void> {
    const { size, digest } = await writeFileEntry(e, p, a, this.writing);
    this.setNode(rel, { type: 'file', layer: this.layer, explicit: true, ...a, size, digest });
  }

  /** Directory modes, owners and times last (deepest first), so read-only directories could be filled. */
  finish(): void {
    const dirs = [...this.nodes.entries()].filter(([, n]) => n.type === 'dir').sort((a, b) => b[0].length - a[0].length);
    for (const [rel, n] of dirs) {
      if (!this.writing.chown) {
        n.uid = this.writing.uid;
        n.gid = this.writing.gid;
      }
      if (!this.writes) continue;
      const p = this.abs(rel);
      if (this.writing.chown) fs.chownSync(p, n.uid, n.gid);
      fs.chmodSync(p, n.mode);
      fs.utimesSync(p, n.mtime, n.mtime);
    }
  }

  /** The digest a correct tree has; meaningful in `replay` mode (writing does not hash contents). */
  digest(): string {
    if (this.writes) throw new Error('LayerWriter.digest() needs replay mode');
    return digestRecords([...this.nodes.entries()]);
  }
}
