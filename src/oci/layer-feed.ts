import fs from 'node:fs';

/** Bytes read from a growing blob file at once. */
const READ_BYTES = 1024 * 1024;

/**
 * What a blob download tells whoever follows it: the file its bytes go to, how much of that file
 * is written, and whether the whole blob matched its digest. fetchBlobToStore calls it.
 */
export interface BlobObserver {
  /** The download writes to `file`; its first `have` bytes are there already (a resumed partial). */
  started(file: string, have: number): void;
  /** The first `bytes` bytes of the file are written. */
  written(bytes: number): void;
  /** All bytes arrived and match the descriptor's size and digest. */
  verified(): void;
  /** The verified blob now lies at `file` (its content address), not where `started` said. */
  movedTo(file: string): void;
  /** The store had the blob already (nothing is downloaded). */
  present(): void;
}

type State = { t: 'waiting' } | { t: 'growing'; file: string; written: number; verified: boolean } | { t: 'present' } | { t: 'failed'; error: unknown };

/**
 * Lets a layer be rendered while it downloads: the renderer reads the blob's file as far as it
 * is written (from the page cache: nothing is held in memory), waits when it has caught up, and
 * reaches the end only once the download has checked the blob's digest. A failed download makes
 * the reader throw, so a tree rendered from unverified bytes is never committed.
 */
export class LayerFeed implements BlobObserver {
  private state: State = { t: 'waiting' };
  private wake: (() => void) | undefined;

  constructor(private readonly size: number) {}

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  started(file: string, have: number): void {
    this.state = { t: 'growing', file, written: have, verified: false };
    this.notify();
  }

  written(bytes: number): void {
    if (this.state.t === 'growing') this.state.written = bytes;
    this.notify();
  }

  verified(): void {
    if (this.state.t === 'growing') this.state.verified = true;
    this.notify();
  }

  movedTo(file: string): void {
    if (this.state.t === 'growing') this.state.file = file;
  }

  present(): void {
    this.state = { t: 'present' };
    this.notify();
  }

  /** The download failed (or will never run): a reader waiting or reading throws `error`. */
  fail(error: unknown): void {
    if (this.state.t === 'present' || (this.state.t === 'growing' && this.state.verified)) return;
    this.state = { t: 'failed', error };
    this.notify();
  }

  /** Waits until the download started or the store had the blob; says which (a failure throws). */
  async ready(): Promise<'growing' | 'present'> {
    for (;;) {
      const s = this.state;
      if (s.t === 'failed') throw s.error;
      if (s.t === 'present' || s.t === 'growing') return s.t;
      await this.changed();
    }
  }

  /**
   * The bytes of a download that has started, as they are written. The file is opened once (a
   * rename to the blob's content address, or its removal by a process that stored the same blob,
   * does not change what the descriptor reads). Ends after exactly `size` bytes and the digest check.
   */
  async *chunks(): AsyncGenerator<Buffer> {
    const s0 = this.state;
    if (s0.t !== 'growing') throw new Error('LayerFeed.chunks() before the download started');
    const fd = fs.openSync(s0.file, 'r');
    try {
      let pos = 0;
      for (;;) {
        const s = this.state;
        if (s.t === 'failed') throw s.error;
        if (s.t !== 'growing') throw new Error('LayerFeed: unexpected state');
        if (pos < s.written) {
          const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, s.written - pos));
          const n = fs.readSync(fd, buf, 0, buf.length, pos);
          if (n === 0) throw new Error('LayerFeed: the blob file is shorter than written');
          pos += n;
          yield n === buf.length ? buf : buf.subarray(0, n);
          continue;
        }
        if (s.verified && pos >= this.size) return;
        await this.changed();
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}
