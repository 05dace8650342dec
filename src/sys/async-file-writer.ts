import { promises as fs } from 'node:fs';

/** Bytes gathered before one writev goes out: a write per network chunk (~16 KiB) costs the caller's thread ~30 µs each. */
const BATCH_BYTES = 1024 * 1024;

/**
 * Appends buffers to a new file through the thread pool, keeping a few writes in flight so the
 * caller's thread goes on hashing and parsing. Small buffers are gathered into one writev of
 * about BATCH_BYTES. Buffers must not be reused by the caller.
 */
export class AsyncFileWriter {
  /** Where the next buffer goes: after the gathered ones (which start at position - batchBytes). */
  private position = 0;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private written = 0;
  private readonly inFlight: Promise<void>[] = [];
  private failure: Error | undefined;
  private readonly onWritten: ((bytes: number) => void) | undefined;

  private constructor(
    private readonly handle: fs.FileHandle,
    private readonly maxInFlight: number,
    onWritten: ((bytes: number) => void) | undefined,
  ) {
    this.onWritten = onWritten;
  }

  /** `onWritten(n)`: the first n bytes of the file are written (called in order, n growing). */
  static async create(file: string, mode = 0o600, maxInFlight = 4, onWritten?: (bytes: number) => void): Promise<AsyncFileWriter> {
    return new AsyncFileWriter(await fs.open(file, 'wx', mode), maxInFlight, onWritten);
  }

  /** Continues an existing file at `offset` (what was there after it is overwritten). */
  static async resume(file: string, offset: number, maxInFlight = 4, onWritten?: (bytes: number) => void): Promise<AsyncFileWriter> {
    const h = await fs.open(file, 'r+');
    await h.truncate(offset);
    const w = new AsyncFileWriter(h, maxInFlight, onWritten);
    w.position = offset;
    w.written = offset;
    return w;
  }

  get bytesQueued(): number {
    return this.position;
  }

  /** Bytes from the start of the file that are written (a reader of the file may read that far). */
  get bytesWritten(): number {
    return this.written;
  }

  async write(buf: Buffer): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.batch.push(buf);
    this.batchBytes += buf.length;
    this.position += buf.length;
    if (this.batchBytes >= BATCH_BYTES) await this.flush();
  }

  /** Sends the gathered buffers; waits when maxInFlight writes are out. */
  private async flush(): Promise<void> {
    if (this.batchBytes === 0) return;
    const bufs = this.batch;
    const end = this.position;
    const at = end - this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    // Each write waits for the one before it to report, so `written` only ever grows.
    const prev = this.inFlight.at(-1);
    const w = writeAll(this.handle, bufs, at).catch((e: unknown) => {
      this.failure ??= e instanceof Error ? e : new Error(String(e));
    });
    this.inFlight.push(
      (prev ? Promise.all([prev, w]) : w).then(() => {
        if (this.failure === undefined) {
          this.written = end;
          this.onWritten?.(end);
        }
      }),
    );
    if (this.inFlight.length >= this.maxInFlight) await this.inFlight.shift();
  }

  /** Waits for every write, fsyncs, closes. Throws the first write error. */
  async finish(sync: boolean): Promise<void> {
    try {
      await this.flush();
      await Promise.all(this.inFlight.splice(0));
      if (this.failure !== undefined) throw this.failure;
      if (sync) await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }

  /**
   * Closes after a failure elsewhere, ignoring write errors. What was queued is still written
   * (a cut download keeps every byte it received, for a resume); bytesWritten says how far it got.
   */
  async abort(): Promise<void> {
    await this.flush().catch(() => undefined);
    await Promise.all(this.inFlight.splice(0));
    await this.handle.close().catch(() => undefined);
  }
}

async function writeAll(h: fs.FileHandle, bufs: Buffer[], at: number): Promise<void> {
  let rest = bufs;
  let pos = at;
  while (rest.length > 0) {
    let { bytesWritten } = await h.writev(rest, pos);
    if (bytesWritten === 0) throw new Error('write returned 0 bytes');
    pos += bytesWritten;
    // Drop what was written; a partly written buffer continues from where it stopped.
    let i = 0;
    while (i < rest.length && bytesWritten >= rest[i]!.length) bytesWritten -= rest[i++]!.length;
    rest = rest.slice(i);
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}
