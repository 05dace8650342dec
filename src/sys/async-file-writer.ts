import { promises as fs } from 'node:fs';

/**
 * Appends buffers to a new file through the thread pool, keeping a few writes in flight so the
 * caller's thread goes on hashing and parsing. Buffers must not be reused by the caller.
 */
export class AsyncFileWriter {
  private position = 0;
  private readonly inFlight: Promise<void>[] = [];
  private failure: Error | undefined;

  private constructor(
    private readonly handle: fs.FileHandle,
    private readonly maxInFlight: number,
  ) {}

  static async create(file: string, mode = 0o600, maxInFlight = 8): Promise<AsyncFileWriter> {
    return new AsyncFileWriter(await fs.open(file, 'wx', mode), maxInFlight);
  }

  /** Continues an existing file at `offset` (what was there after it is overwritten). */
  static async resume(file: string, offset: number, maxInFlight = 8): Promise<AsyncFileWriter> {
    const h = await fs.open(file, 'r+');
    await h.truncate(offset);
    const w = new AsyncFileWriter(h, maxInFlight);
    w.position = offset;
    return w;
  }

  get bytesQueued(): number {
    return this.position;
  }

  async write(buf: Buffer): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const at = this.position;
    this.position += buf.length;
    this.inFlight.push(
      writeAll(this.handle, buf, at).catch((e: unknown) => {
        this.failure ??= e instanceof Error ? e : new Error(String(e));
      }),
    );
    if (this.inFlight.length >= this.maxInFlight) await this.inFlight.shift();
  }

  /** Waits for every write, fsyncs, closes. Throws the first write error. */
  async finish(sync: boolean): Promise<void> {
    try {
      await Promise.all(this.inFlight.splice(0));
      if (this.failure !== undefined) throw this.failure;
      if (sync) await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }

  /** Closes after a failure elsewhere, ignoring write errors. */
  async abort(): Promise<void> {
    await Promise.all(this.inFlight.splice(0));
    await this.handle.close().catch(() => undefined);
  }
}

async function writeAll(h: fs.FileHandle, buf: Buffer, at: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await h.write(buf, off, buf.length - off, at + off);
    off += bytesWritten;
  }
}
