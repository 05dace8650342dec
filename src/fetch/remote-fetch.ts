import fs from 'node:fs';
import { CapsuleError, errorChain } from '../errors/capsule-error.js';
import type { Dependency } from '../spec/image-manifest.js';
import type { Platform } from '../spec/os-arch.js';
import { getImage } from '../store/image-index.js';
import { getRemote, isFresh, upsertRemote, type RemoteRecord } from '../store/remote-index.js';
import type { Store } from '../store/store.js';
import { lockFile, type HeldLock } from '../sys/flock.js';
import type { StoredKey } from '../verify/keystore.js';
import { readSignatureFile } from '../verify/signature-file.js';
import { maxAgeOf } from './cache-control.js';
import { discardPartial, downloadPaths, readPartial, resumeStream, TransferError, writePartialMeta, type DownloadPaths } from './download.js';
import { readSmallBody, redactUrl, type HttpClient, type HttpResponse } from './http-client.js';
import { importAci, type ImportResult } from './import-aci.js';

export type RemotePolicy = 'new' | 'update' | 'never';

export interface RemoteHooks {
  debug(msg: string): void;
  info(msg: string): void;
  progress(label: string, total: number | undefined): { add(n: number): void; done(): void };
}

export interface RemoteFetchOptions {
  policy: RemotePolicy;
  /** Detached signature: a local file (--signature), else `<url>.asc`; none with --insecure-options=image. */
  signatureFile?: string;
  signatureUrl?: string;
  verify: boolean;
  trustedKeys: () => StoredKey[];
  expectedName?: string;
  expectedLabels?: Record<string, string>;
  /** See ImportOptions.platform. */
  platform?: Platform;
  latest?: boolean;
  fetchDependency?: (dep: Dependency) => Promise<void>;
  now?: () => number;
}

export interface RemoteFetched {
  id: string;
  fromCache: boolean;
  result: ImportResult | undefined;
}

const MAX_SIGNATURE_BYTES = 1024 * 1024;

/**
 * Fetches an image by URL with rkt's caching: pull policy, Cache-Control max-age (no request while
 * fresh), ETag revalidation (304 reuses the stored image), resumable downloads (Range + If-Range
 * from the partial file in cas/tmp), one download per URL at a time (flock; others wait and reuse).
 */
export async function fetchRemoteImage(store: Store, http: HttpClient, url: string, o: RemoteFetchOptions, hooks: RemoteHooks): Promise<RemoteFetched> {
  const now = o.now ?? Date.now;
  // The URL's cache row, but only while the image it names is still in the store.
  const cached = (): RemoteRecord | undefined => {
    if (!store.exists) return undefined;
    const r = getRemote(store.db, cacheKey(url));
    return r && getImage(store.db, r.imageId) ? r : undefined;
  };
  const hit = cached();
  if (hit && o.policy !== 'update') {
    hooks.debug(`using image from local store for url ${redactUrl(url)}`);
    return { id: hit.imageId, fromCache: true, result: undefined };
  }
  if (o.policy === 'never') {
    throw new CapsuleError('image-not-found', `unable to fetch image from URL ${JSON.stringify(redactUrl(url))}: either image was not found in the store or store was disabled and fetching from remote yielded nothing or it was disabled`);
  }
  if (hit && isFresh(hit, now())) {
    hooks.debug(`image for ${redactUrl(url)} isn't expired, not fetching.`);
    return { id: hit.imageId, fromCache: true, result: undefined };
  }

  const paths = downloadPaths(store, cacheKey(url));
  const started = now();
  // Held shared for the whole download, so `image gc` never sweeps a partial file in use.
  const storeLock = await store.lock('shared');
  try {
    const lock = await downloadLock(paths, url, hooks);
    try {
      // Someone may have fetched it while we waited: use that instead of downloading again.
      const again = cached();
      if (again && again.downloadTime >= started) {
        hooks.debug(`${redactUrl(url)} was just fetched by another capsule`);
        return { id: again.imageId, fromCache: true, result: undefined };
      }
      return await download(store, http, url, paths, o, hooks, hit?.etag);
    } finally {
      lock.release();
    }
  } finally {
    storeLock.release();
  }
}

/** One download per URL at a time: a second capsule waits for the first, then reuses its result. */
async function downloadLock(paths: DownloadPaths, url: string, hooks: RemoteHooks): Promise<HeldLock> {
  const lock = await lockFile(paths.lock, 'exclusive', false);
  if (lock !== null) return lock;
  hooks.info('another capsule is downloading this file, waiting...');
  const waited = await lockFile(paths.lock, 'exclusive', 3600);
  if (waited === null) throw new CapsuleError('store-busy', `timed out waiting for another download of ${redactUrl(url)}`);
  return waited;
}

async function fetchSignature(http: HttpClient, sigUrl: string): Promise<{ deferred: true } | { deferred: false; text: string }> {
  const res = await http.get(sigUrl);
  if (res.status === 202) {
    await res.dump();
    return { deferred: true };
  }
  if (res.status !== 200) {
    await res.dump();
    throw new CapsuleError('signature', `error downloading the signature file ${redactUrl(sigUrl)}: bad HTTP status code: ${res.status}`);
  }
  return { deferred: false, text: (await readSmallBody(res, MAX_SIGNATURE_BYTES, 'the signature')).toString('latin1') };
}

async function download(store: Store, http: HttpClient, url: string, paths: DownloadPaths, o: RemoteFetchOptions, hooks: RemoteHooks, etag: string | undefined): Promise<RemoteFetched> {
  const sigUrl = o.signatureUrl ?? `${url}.asc`;
  let signature: string | undefined;
  let deferred = false;
  if (o.verify && o.signatureFile !== undefined) signature = readSignatureFile(o.signatureFile);

  const partial = readPartial(paths, cacheKey(url));
  const headers: Record<string, string> = {};
  if (etag) headers['if-none-match'] = etag;
  if (partial && partial.size > 0) {
    headers.range = `bytes=${partial.size}-`;
    headers['if-range'] = partial.meta.etag ?? partial.meta.lastModified ?? '';
  }
  hooks.debug(`remote fetching from URL ${JSON.stringify(redactUrl(url))}`);
  let res = await http.get(url, { headers });
  if (res.status === 416 && partial) {
    // Our partial file is complete or stale: start over.
    await res.dump();
    discardPartial(paths);
    res = await http.get(url, etag ? { headers: { 'if-none-match': etag } } : {});
  }
  if (res.status === 304) {
    await res.dump();
    const r = getRemote(store.db, cacheKey(url));
    if (!r) throw new CapsuleError('http', `${redactUrl(url)} answered 304 Not Modified to an unconditional request`);
    upsertRemote(store.db, { ...r, maxAge: maxAgeOf(res.headers['cache-control']), downloadTime: (o.now ?? Date.now)() });
    hooks.debug(`using image from local store for url ${redactUrl(url)} (not modified)`);
    return { id: r.imageId, fromCache: true, result: undefined };
  }
  let have = 0;
  if (res.status === 206 && partial) {
    const start = /^bytes (\d+)-/.exec(res.headers['content-range'] ?? '')?.[1];
    if (Number(start) !== partial.size) {
      await drain(res);
      // Resuming from this server cannot work: start over next time instead of failing forever.
      discardPartial(paths);
      throw new CapsuleError('http', `${redactUrl(url)} resumed at the wrong offset (${res.headers['content-range'] ?? 'no Content-Range'})`);
    }
    have = partial.size;
    hooks.debug(`resuming the download of ${redactUrl(url)} at byte ${have}`);
  } else if (res.status === 200) {
    if (partial) hooks.debug(`cannot use cached partial download of ${redactUrl(url)}: the server sent the whole file`);
    discardPartial(paths);
  } else {
    await res.dump();
    throw new CapsuleError('http', `error downloading ACI ${redactUrl(url)}: bad HTTP status code: ${res.status}`);
  }
  // The signature is asked for once the image is known to be coming (not for a 304), and before
  // any image byte is read, so verification can stream.
  if (o.verify && o.signatureFile === undefined) {
    try {
      const s = await fetchSignature(http, sigUrl);
      if (s.deferred) {
        hooks.info('server requested deferring the signature download');
        deferred = true;
      } else signature = s.text;
    } catch (e) {
      await drain(res);
      throw e;
    }
  }
  const bodyLength = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
  writePartialMeta(paths, { url: cacheKey(url), ...(res.headers.etag ? { etag: res.headers.etag } : {}), ...(res.headers['last-modified'] ? { lastModified: res.headers['last-modified'] } : {}), ...(bodyLength !== undefined ? { total: have + bodyLength } : {}) });

  const bar = hooks.progress('ACI', bodyLength !== undefined ? have + bodyLength : undefined);
  try {
    let data: AsyncIterable<Uint8Array> = resumeStream(paths, have, res, bodyLength, (n) => bar.add(n));
    if (deferred) {
      // rkt: download the image first, then ask for the signature once more.
      for await (const _ of data) {
        /* the partial file fills up */
      }
      const s = await fetchSignature(http, sigUrl);
      if (s.deferred) throw new CapsuleError('signature', `the server deferred the signature ${redactUrl(sigUrl)} twice`);
      signature = s.text;
      data = fs.createReadStream(paths.file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
    }
    const result = await importAci(
      store,
      { data, signature, label: redactUrl(url), ...(bodyLength !== undefined ? { size: have + bodyLength } : {}) },
      {
        trustedKeys: signature === undefined ? [] : o.trustedKeys(),
        ...(o.expectedName !== undefined ? { expectedName: o.expectedName } : {}),
        ...(o.expectedLabels ? { expectedLabels: o.expectedLabels } : {}),
        ...(o.platform ? { platform: o.platform } : {}),
        ...(o.latest !== undefined ? { latest: o.latest } : {}),
        ...(o.fetchDependency ? { fetchDependency: o.fetchDependency } : {}),
      },
    );
    discardPartial(paths);
    upsertRemote(store.db, { url: cacheKey(url), sigUrl: o.signatureFile === undefined && o.verify ? cacheKey(sigUrl) : undefined, etag: res.headers.etag, imageId: result.id, maxAge: maxAgeOf(res.headers['cache-control']), downloadTime: (o.now ?? Date.now)() });
    return { id: result.id, fromCache: false, result };
  } catch (e) {
    // A broken transfer is kept for resuming; anything wrong with the content is not.
    if (!errorChain(e).some((c) => c instanceof TransferError)) discardPartial(paths);
    throw e;
  } finally {
    bar.done();
    await drain(res);
  }
}

async function drain(res: HttpResponse): Promise<void> {
  await res.dump().catch(() => undefined);
}

/** URLs as the index and cas/tmp know them: without user:password (credentials are never kept at rest). */
function cacheKey(url: string): string {
  return redactUrl(url);
}
