import { CapsuleError } from '../errors/capsule-error.js';

/** Pulls exact byte counts out of an async chunk stream without copying more than needed. */
export class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private consumed = 0;
  private readonly it: AsyncIterator<Uint8Array>;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else if (r.value.length > 0) {
        const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
        this.chunks.push(b);
        this.buffered += b.length;
      }
    }
    return this.buffered >= n;
  }

  /** Exactly n bytes, or null at a clean end of stream; a short read throws. */
  async readExact(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (this.buffered === 0) return null;
      throw new CapsuleError('bad-archive', `unexpected end of archive (wanted ${n} bytes, have ${this.buffered})`);
    }
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      this.consume(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const take = Math.min(c.length, n - off);
      c.copy(out, off, 0, take);
      off += take;
      this.consume(take);
    }
    return out;
  }

  /** Bytes handed out or skipped so far: the stream offset of the next byte (archive indexes). */
  get position(): number {
    return this.consumed;
  }

  private consume(n: number): void {
    this.consumed += n;
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      if (c.length <= n) {
        this.chunks.shift();
        n -= c.length;
      } else {
        this.chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }

  /** Yields exactly n bytes as chunks (zero-copy where possible). */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill(1))) throw new CapsuleError('bad-archive', 'unexpected end of archive inside an entry');
      const c = this.chunks[0]!;
      const take = Math.min(c.length, left);
      const out = c.subarray(0, take);
      this.consume(take);
      left -= take;
      yield out;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.stream(n)) {
      /* discard */
    }
  }

  /** Reads and discards everything left (trailing padding is part of the hashed image). */
  async drain(): Promise<void> {
    this.chunks = [];
    this.buffered = 0;
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
    }
  }
}
