import { checkTrustedPath } from '../sys/safe-perms.js';
import { existsSync, mkdirSync, promises as fsp } from 'node:fs';
import { CapsuleError } from '../errors/capsule-error.js';
import { removeOnSignal } from '../sys/signal-cleanup.js';
import { lockFile, type HeldLock, type LockMode } from '../sys/flock.js';
import { dataDirModes, makeDirs, type DataDirModes } from '../sys/shared-dir.js';
import { openIndex, type Db } from './index-db.js';
import { storeLayout, type StoreLayout } from './layout.js';

/**
 * The on-disk store: CAS blobs, the index database, the tree store and locks.
 * Imports hold the store lock shared; `image rm` and `image gc` hold it exclusively, so a
 * sweep never removes the temp files or unindexed blobs of an import still in progress.
 */
export class Store {
  private dbHandle: Db | undefined;

  private constructor(
    readonly layout: StoreLayout,
    /** Private, or shared with the data dir's group (sys/shared-dir.ts, docs/permissions.md). */
    readonly modes: DataDirModes,
  ) {}

  /** Opens (creating directories when `create`) the store under `dir`. */
  static open(dir: string, create: boolean): Store {
    const l = storeLayout(dir);
    // Anyone who can write the data dir can swap blobs, trees and pods (issue 12 §4).
    checkTrustedPath(dir, 'data-dir', 'data dir');
    const modes = dataDirModes(dir);
    if (create) {
      if (!modes.shared) mkdirSync(l.dir, { recursive: true, mode: 0o700 });
      for (const d of [l.blobDir, l.dbDir, l.tmpDir, l.locksDir]) makeDirs(d, modes.writableDir);
      makeDirs(l.treeDir, modes.readableDir);
    }
    return new Store(l, modes);
  }

  /** True when the index exists; read-only commands on a store that was never written show nothing. */
  get exists(): boolean {
    return existsSync(this.layout.dbFile);
  }

  get db(): Db {
    this.dbHandle ??= openIndex(this.layout.dbDir, this.layout.dbFile, this.modes);
    return this.dbHandle;
  }

  async lock(mode: LockMode): Promise<HeldLock> {
    makeDirs(this.layout.locksDir, this.modes.writableDir);
    const l = await lockFile(this.layout.storeLock, mode, 600, this.modes.writableFile);
    if (l === null) throw new CapsuleError('store-busy', `timed out waiting for the store lock ${this.layout.storeLock}`);
    return l;
  }

  close(): void {
    this.dbHandle?.close();
    this.dbHandle = undefined;
  }

  async makeTemp(name: string): Promise<string> {
    if (this.modes.shared) makeDirs(this.layout.tmpDir, this.modes.writableDir);
    else await fsp.mkdir(this.layout.tmpDir, { recursive: true, mode: 0o700 });
    const p = `${this.layout.tmpDir}/${name}`;
    // Private to this process until committed by rename: removed if it is told to stop.
    removeOnSignal(p);
    return p;
  }
}
