import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { decompress, sniffCompression } from '../aci/decompress.js';
import { gunzipInWorker } from '../aci/gunzip-worker.js';
import { checkUnpackedSize, type SizeLimits } from '../aci/size-limits.js';
import { AsyncFileWriter } from '../sys/async-file-writer.js';

/** gzip images at least this large (compressed) are inflated in a worker thread; below, a worker's start costs more than it saves. */
export const WORKER_MIN_BYTES = 8 * 1024 * 1024;

/**
 * The uncompressed tar of an image being imported: read in order from `chunks` (checked against
 * the decompression-bomb limits as it goes), hashed for the image ID and written to the temp blob.
 * `finish()` after the last chunk: the blob is complete and fsynced. `abort()` after a failure.
 */
export interface TarIntake {
  chunks: AsyncIterable<Buffer>;
  finish(): Promise<{ sha512: string; size: number }>;
  abort(): Promise<void>;
}

export interface TarIntakeOptions {
  /** The temp blob file to create. */
  blobFile: string;
  limits: SizeLimits;
  /** Compressed bytes read so far (the ratio limit). */
  compressedSoFar: () => number;
  /** The compressed size when known (Content-Length, file size): decides the worker. */
  sizeHint: number | undefined;
  /** Overrides WORKER_MIN_BYTES (tests). */
  workerMinBytes?: number;
}

export async function openTarIntake(bytes: AsyncIterable<Uint8Array>, o: TarIntakeOptions): Promise<TarIntake> {
  const { kind, stream } = await sniffCompression(bytes);
  const parallel = kind === 'gzip' && (o.sizeHint ?? 0) >= (o.workerMinBytes ?? WORKER_MIN_BYTES);
  return parallel ? inWorker(stream, o) : await inThread(stream, o);
}

function limited(chunks: AsyncIterable<Buffer>, o: TarIntakeOptions, onChunk: (c: Buffer) => Promise<void> | void): AsyncGenerator<Buffer> {
  return (async function* () {
    let size = 0;
    for await (const c of chunks) {
      size += c.length;
      checkUnpackedSize(size, o.compressedSoFar(), o.limits);
      await onChunk(c);
      yield c;
    }
  })();
}

async function inThread(stream: AsyncIterable<Uint8Array>, o: TarIntakeOptions): Promise<TarIntake> {
  const hash = createHash('sha512');
  let size = 0;
  const blob = await AsyncFileWriter.create(o.blobFile);
  return {
    chunks: limited(decompress(stream), o, async (c) => {
      size += c.length;
      hash.update(c);
      await blob.write(c);
    }),
    finish: async () => {
      await blob.finish(true);
      return { sha512: hash.digest('hex'), size };
    },
    abort: () => blob.abort(),
  };
}

function inWorker(stream: AsyncIterable<Uint8Array>, o: TarIntakeOptions): TarIntake {
  const fd = fs.openSync(o.blobFile, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  let closed = false;
  const close = (): void => {
    if (!closed) fs.closeSync(fd);
    closed = true;
  };
  const w = gunzipInWorker(stream, { blobFd: fd });
  return {
    chunks: limited(w.chunks, o, () => undefined),
    finish: async () => {
      const r = await w.result();
      close();
      return r;
    },
    abort: async () => {
      await w.stop();
      close();
    },
  };
}
