import type * as Crypto from 'node:crypto';
import type * as Fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as WorkerThreads from 'node:worker_threads';
import type * as V8 from 'node:v8';
import type * as Vm from 'node:vm';
import type * as Zlib from 'node:zlib';
import { CapsuleError } from '../errors/capsule-error.js';

/** What the worker reports when the whole stream was inflated. */
export interface InflateResult {
  /** SHA-512 of the uncompressed bytes, lower-case hex. */
  sha512: string;
  size: number;
}

export interface GunzipWorkerOptions {
  /** The uncompressed bytes are appended here by the worker, then fsynced (an fd opened for writing). */
  blobFd: number;
  /** Compressed bytes sent but not yet taken by zlib before the sender waits. */
  inputWindow?: number;
  /** Uncompressed chunks handed over but not yet read before the worker pauses. */
  outputWindow?: number;
}

/** Size of the recycled input buffers: download.ts hands over chunks of 256 KiB and a little more. */
const POOLED_BYTES = 512 * 1024;
const MAX_POOLED = 32;

/**
 * Buffers that arrive by transfer are not counted as memory pressure by this thread's V8, so the
 * dead ones pile up (~60 MB per 100 MB image) until a collection happens for other reasons; a
 * young-generation collection every 16 chunks (4 MiB, ~0.3 ms each) keeps peak RSS flat.
 */
const GC_EVERY = 16;

/**
 * V8's gc(), made available only now: starting Node with --expose-gc would cost every command
 * ~15 ms, since V8 then rejects Node's built-in code cache (compiled under other flags). Modules
 * loaded after this point compile without their cache too, so it is called once the worker runs.
 */
function youngCollector(): (() => void) | undefined {
  try {
    const load = createRequire(import.meta.url);
    (load('node:v8') as typeof V8).setFlagsFromString('--expose-gc');
    const gc = (load('node:vm') as typeof Vm).runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? () => (gc as (o: { type: 'minor' }) => void)({ type: 'minor' }) : undefined;
  } catch {
    return undefined;
  }
}

type ToWorker = { t: 'in'; b: Uint8Array } | { t: 'end' } | { t: 'credit'; n: number };
type FromWorker = { t: 'ack'; b: Uint8Array } | { t: 'out'; b: Uint8Array } | { t: 'done'; sha512: string; size: number } | { t: 'error'; message: string };

/**
 * The worker's whole program, run from its source text (so it needs no file of its own in dist/
 * and runs the same under the test runner): gunzip, SHA-512 and the blob write, each uncompressed
 * chunk copied out to the main thread for extraction. Must stay self-contained.
 */
function workerProgram(load: (id: string) => unknown): void {
  const threads = load('node:worker_threads') as typeof WorkerThreads;
  const zlib = load('node:zlib') as typeof Zlib;
  const { createHash } = load('node:crypto') as typeof Crypto;
  const fs = load('node:fs') as typeof Fs;
  const port = threads.parentPort!;
  const { blobFd, outputWindow } = threads.workerData as { blobFd: number; outputWindow: number };
  const post = (m: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);
  const hash = createHash('sha512');
  let size = 0;
  let credit = outputWindow;
  let failed = false;
  const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
  gunzip.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    for (let off = 0; off < chunk.length; ) off += fs.writeSync(blobFd, chunk, off, chunk.length - off);
    size += chunk.length;
    // zlib goes on filling the memory behind a chunk until that buffer is full, then takes a new
    // one: a chunk that fills its whole buffer moves to the main thread as it is (no copy, and no
    // garbage left in this thread), any other is copied.
    const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
    const own = whole ? chunk : new Uint8Array(chunk);
    post({ t: 'out', b: own }, [own.buffer as ArrayBuffer]);
    if (--credit <= 0) gunzip.pause();
  });
  gunzip.on('end', () => {
    if (failed) return;
    fs.fsyncSync(blobFd);
    post({ t: 'done', sha512: hash.digest('hex'), size });
  });
  gunzip.on('error', (e: Error) => {
    failed = true;
    post({ t: 'error', message: e.message });
  });
  port.on('message', (m: ToWorker) => {
    // The input buffer goes back to the main thread's pool once zlib is done with it.
    if (m.t === 'in') gunzip.write(m.b, () => post({ t: 'ack', b: m.b }, [m.b.buffer as ArrayBuffer]));
    else if (m.t === 'end') gunzip.end();
    else {
      credit += m.n;
      if (credit > 0 && gunzip.isPaused()) gunzip.resume();
    }
  });
}

/**
 * Gunzips `source` in a worker thread, which also hashes the result (the image ID) and writes it
 * to the blob, so the main thread keeps only the network, the signature digest and extraction
 * (bench/fetch-https.mjs: the SHA-512 alone is ~0.25 s per 100 MB). Yields the uncompressed bytes
 * in order; `result()` settles after the last one. Errors of `source` pass through unchanged; a
 * broken gzip stream is a CapsuleError('bad-archive'). Leaving the iteration early stops the worker.
 */
export function gunzipInWorker(
  source: AsyncIterable<Uint8Array>,
  o: GunzipWorkerOptions,
): { chunks: AsyncGenerator<Buffer>; result: () => Promise<InflateResult>; stop: () => Promise<void> } {
  const inputWindow = o.inputWindow ?? 4 * 1024 * 1024;
  const outputWindow = o.outputWindow ?? 8;
  // Loaded here, not at import: `run` and `prepare` import the fetch code without using it.
  const { Worker } = createRequire(import.meta.url)('node:worker_threads') as typeof WorkerThreads;
  const worker = new Worker(`(${workerProgram.toString()})(require)`, { eval: true, workerData: { blobFd: o.blobFd, outputWindow } });
  const send = (m: ToWorker, transfer?: ArrayBuffer[]): void => worker.postMessage(m, transfer);
  const collectYoung = youngCollector();

  const out: Buffer[] = [];
  // Input copies cycle through a few buffers instead of leaving ~100 MB of garbage per 100 MB
  // image, which would raise peak RSS before V8 collects it.
  const pool: ArrayBuffer[] = [];
  let finished: InflateResult | undefined;
  let failure: Error | undefined;
  let unacked = 0;
  // Both the feeder (window full) and the reader (nothing inflated yet) may be waiting.
  let waiters: (() => void)[] = [];
  const notify = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const waitForWorker = (): Promise<void> => new Promise((resolve) => waiters.push(resolve));
  worker.on('message', (m: FromWorker) => {
    if (m.t === 'ack') {
      unacked -= m.b.length;
      if (m.b.buffer.byteLength === POOLED_BYTES && pool.length < MAX_POOLED) pool.push(m.b.buffer as ArrayBuffer);
    } else if (m.t === 'out') out.push(Buffer.from(m.b.buffer, m.b.byteOffset, m.b.byteLength));
    else if (m.t === 'done') finished = { sha512: m.sha512, size: m.size };
    else failure ??= new CapsuleError('bad-archive', `decompressing gzip: ${m.message}`);
    notify();
  });
  worker.on('error', (e) => {
    failure ??= e;
    notify();
  });
  worker.on('exit', () => {
    failure ??= finished ? undefined : new Error('the gunzip worker stopped early');
    notify();
  });

  let sourceError: Error | undefined;
  let feeding = true;
  // Feeds the compressed bytes as fast as the window allows; copies, since the caller's buffers
  // may still be on their way to the partial-download file.
  const feed = (async () => {
    try {
      for await (const c of source) {
        if (!feeding) return;
        const copy = c.length <= POOLED_BYTES ? new Uint8Array(pool.pop() ?? new ArrayBuffer(POOLED_BYTES), 0, c.length) : new Uint8Array(c.length);
        copy.set(c);
        unacked += copy.length;
        send({ t: 'in', b: copy }, [copy.buffer]);
        while (feeding && unacked > inputWindow && failure === undefined) await waitForWorker();
      }
      if (feeding) send({ t: 'end' });
    } catch (e) {
      sourceError = e instanceof Error ? e : new Error(String(e));
      notify();
    }
  })();

  let received = 0;
  const chunks = (async function* (): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const c = out.shift();
        if (c !== undefined) {
          send({ t: 'credit', n: 1 });
          if (++received % GC_EVERY === 0) collectYoung?.();
          yield c;
          continue;
        }
        if (sourceError !== undefined) throw sourceError;
        if (failure !== undefined) throw failure;
        if (finished) return;
        await waitForWorker();
      }
    } finally {
      feeding = false;
      notify();
      // After an early stop the feeder may sit in a read of the source; it ends once the caller
      // closes that source, and catches its own errors, so it is not waited for here.
      if (finished) await feed;
      await worker.terminate();
    }
  })();

  return {
    chunks,
    result: () => {
      if (!finished || failure !== undefined) return Promise.reject(new Error('gunzipInWorker: result() before the stream was read to its end'));
      return Promise.resolve(finished);
    },
    // Resolves once the worker is gone, so the blob fd can be closed without a late write into a reused fd number.
    stop: async () => {
      feeding = false;
      failure ??= new Error('the gunzip worker was stopped');
      notify();
      await worker.terminate();
    },
  };
}
