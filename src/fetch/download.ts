import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';
import type { Store } from '../store/store.js';
import { AsyncFileWriter } from '../sys/async-file-writer.js';
import { redactUrl, type HttpResponse } from './http-client.js';

/** The network failed mid-transfer: what arrived is kept in cas/tmp so the next fetch can resume. */
export class TransferError extends CapsuleError {
  constructor(message: string, cause?: unknown) {
    super('transfer', message, cause === undefined ? {} : { cause });
    this.name = 'TransferError';
  }
}

/** What is known about a partial download (beside it as `<file>.json`). */
export interface PartialMeta {
  url: string;
  etag?: string;
  lastModified?: string;
  /** Total length announced by the server, when it did. */
  total?: number;
}

export interface DownloadPaths {
  file: string;
  meta: string;
  lock: string;
}

/** Downloads in progress live in cas/tmp, named by a hash of the URL (never read as images). */
export function downloadPaths(store: Store, url: string): DownloadPaths {
  const key = createHash('sha256').update(url).digest('hex').slice(0, 32);
  const base = path.join(store.layout.tmpDir, `dl-${key}`);
  return { file: `${base}.part`, meta: `${base}.json`, lock: `${base}.lock` };
}

/** A usable partial download of `url`: its size and validator, or undefined. */
export function readPartial(p: DownloadPaths, url: string): { size: number; meta: PartialMeta } | undefined {
  try {
    const meta = JSON.parse(fs.readFileSync(p.meta, 'utf8')) as PartialMeta;
    if (meta.url !== url || (!meta.etag && !meta.lastModified)) return undefined;
    return { size: fs.statSync(p.file).size, meta };
  } catch {
    return undefined;
  }
}

export function writePartialMeta(p: DownloadPaths, meta: PartialMeta): void {
  fs.writeFileSync(p.meta, JSON.stringify(meta), { mode: 0o600 });
}

export function discardPartial(p: DownloadPaths): void {
  fs.rmSync(p.file, { force: true });
  fs.rmSync(p.meta, { force: true });
}

/** The bytes already on disk, then the response body, which is appended to the partial file as it streams. */
export async function* resumeStream(p: DownloadPaths, have: number, res: HttpResponse, expectedBody: number | undefined, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  if (have > 0) {
    for await (const c of fs.createReadStream(p.file, { start: 0, end: have - 1, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      onBytes(c.length);
      yield c;
    }
  }
  const out = have > 0 ? await AsyncFileWriter.resume(p.file, have) : await AsyncFileWriter.create(p.file);
  let got = 0;
  let ok = false;
  try {
    try {
      for await (const c of batched(res.body, BATCH_BYTES)) {
        got += c.length;
        if (expectedBody !== undefined && got > expectedBody) throw new CapsuleError('http', `${redactUrl(res.url)} sent more than the ${expectedBody} bytes it announced`);
        await out.write(c);
        onBytes(c.length);
        yield c;
      }
    } catch (e) {
      if (e instanceof CapsuleError) throw e;
      throw new TransferError(`the transfer of ${redactUrl(res.url)} broke off after ${have + got} bytes`, e);
    }
    if (expectedBody !== undefined && got < expectedBody) throw new TransferError(`the transfer of ${redactUrl(res.url)} ended early: got ${got} of ${expectedBody} bytes`);
    ok = true;
  } finally {
    if (ok) await out.finish(false);
    else await out.abort();
  }
}

/**
 * TLS delivers a body in ~16 KB records; every later stage (partial file, signature hash, gunzip)
 * pays per chunk, so chunks are gathered into buffers of at least `min` bytes (bench: -0.2 s per 100 MB).
 */
export async function* batched(source: AsyncIterable<Buffer>, min: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  for await (const c of source) {
    parts.push(c);
    n += c.length;
    if (n >= min) {
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
      parts = [];
      n = 0;
    }
  }
  if (n > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
}

const BATCH_BYTES = 256 * 1024;
