import fs from 'node:fs';
import path from 'node:path';
import { LayerWriter, type LayerPolicyReport } from '../aci/layer-writer.js';
import { CapsuleError } from '../errors/capsule-error.js';
import { parseImageId, type ImageId } from '../spec/image-id.js';
import type { ImageManifest } from '../spec/image-manifest.js';
import { getImage, labelsOf, touchImage, upsertImage } from '../store/image-index.js';
import { getOciRef, ociTreeId, upsertOciImage, type StoredLayer } from '../store/oci-index.js';
import { applyLayer, applyLayerBytes } from '../store/oci-render.js';
import type { Store } from '../store/store.js';
import { getTree } from '../store/tree-index.js';
import { commitTree, treeBytes, treeIsRendered } from '../store/tree-store.js';
import { tempName } from '../sys/atomic-write.js';
import { crashPoint, testPauseAsync } from '../sys/crash-point.js';
import { fetchBlobToStore, readSmallBlob, storeBlobBytes } from './blob-fetch.js';
import { configToApp } from './config-app.js';
import { resolveManifest, type ResolvedManifest } from './resolve-manifest.js';
import { MAX_OCI_CONFIG_BYTES, parseImageConfig, shortDigest } from './manifest.js';
import { LayerFeed } from './layer-feed.js';
import { formatPlatform, type WantedPlatform } from './platform.js';
import { formatReference, repositoryName, type OciReference } from './reference.js';
import { MEDIA, type Descriptor, type ImageSource, type Sha256Digest } from './types.js';

/** Layers downloaded at once. */
export const LAYER_CONCURRENCY = 3;

/** What a signature check tells about an image it accepted (for the "signature verified" lines). */
export interface OciTrust {
  /** One line per signer identity (user IDs or fingerprints). */
  signers: string[];
}

/**
 * Verifies an image's signatures before anything of it is indexed: `manifestDigest` and
 * `manifest` are what the reference resolved to at the source (an index, or a manifest), exactly
 * as served. Throws (CapsuleError) when the image is not trusted. oci-registry's
 * `verifyOciSignatures` (src/oci/signing/) has this shape.
 */
export type OciSignatureCheck = (ref: OciReference, manifestDigest: Sha256Digest, manifest: Buffer, source: ImageSource) => Promise<OciTrust>;

export interface OciProgress {
  add(n: number): void;
  done(): void;
}

export interface OciImportOptions {
  /** The platform to pick from an index (the host's unless --platform). */
  platform: WantedPlatform;
  /** Signature verification; undefined only with --insecure-options=image (the caller warned). */
  verify: OciSignatureCheck | undefined;
  /** The image argument as given (recorded for pull policies): `docker://…`, `oci:/dir:tag`. */
  sourceString: string;
  /** `update`: when the source still names what the store has, nothing more is fetched. */
  reuseUnchanged?: boolean;
  warn?: (msg: string) => void;
  /** One progress line per layer that is really downloaded. */
  progress?: (label: string, total: number) => OciProgress;
  now?: () => number;
}

export interface OciImportResult {
  id: ImageId;
  manifest: ImageManifest;
  trust: OciTrust | undefined;
  /** Layers downloaded (the rest were in the store already). */
  fetchedLayers: number;
  /** What the layers held that the tree does not get as it was (setuid bits, device nodes). */
  policy: LayerPolicyReport | undefined;
  /** True when `reuseUnchanged` found the stored image still current. */
  unchanged: boolean;
}

/** The key a reference is stored under: `registry/repository:tag`, or `…@digest` without a tag. */
export function refKey(ref: OciReference): string {
  return ref.tag !== undefined ? `${repositoryName(ref)}:${ref.tag}` : formatReference(ref);
}

/**
 * Runs `f` over `items` (with their index), `n` at once; after a failure no new item starts.
 * Settles only when every started item has: then throws the first failure.
 */
export async function pool<T>(items: readonly T[], n: number, f: (x: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { e: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        await f(items[i]!, i);
      } catch (e) {
        failure ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (failure !== undefined) throw failure.e;
}

const CONFIG_TYPES = new Set<string>([MEDIA.ociConfig, MEDIA.dockerConfig]);

function checkConfigDescriptor(d: Descriptor, what: string): void {
  if (!CONFIG_TYPES.has(d.mediaType)) {
    throw new CapsuleError('not-an-image', `${what} is not a container image: its config has media type ${JSON.stringify(d.mediaType)} (an artifact?)`);
  }
}

/**
 * Imports one OCI/Docker image from `source`: resolves the reference to one manifest (choosing
 * the platform from an index), has its signatures checked, reads the config and downloads the
 * layers the store lacks (LAYER_CONCURRENCY at once; sizes and sha256 checked as the bytes
 * stream), renders the layers into the tree store, and only then indexes the image in one
 * transaction. A failure at any step leaves no index row; blobs already verified stay in the CAS
 * (unreferenced until an image holds them; `image gc` removes them otherwise).
 */
export async function importOci(store: Store, source: ImageSource, o: OciImportOptions): Promise<OciImportResult> {
  const now = o.now ?? Date.now;
  const lock = await store.lock('shared');
  try {
    const resolved = await resolveManifest(source, o.platform);
    const key = refKey(source.ref);
    if (o.reuseUnchanged) {
      const known = getOciRef(store.db, key);
      const img = known && getImage(store.db, known.imageId);
      if (known && img && known.topDigest === resolved.topDigest && known.platform === formatPlatform(o.platform)) {
        touchImage(store.db, img.id, now());
        return { id: img.id, manifest: img.manifest, trust: undefined, fetchedLayers: 0, policy: undefined, unchanged: true };
      }
    }
    // Trust first: nothing of an image that is not trusted is downloaded past its manifests.
    const trust = o.verify ? await o.verify(source.ref, resolved.topDigest, resolved.topBytes, source) : undefined;
    return { ...(await importResolved(store, source, resolved, key, o, now)), trust, unchanged: false };
  } finally {
    lock.release();
  }
}

async function importResolved(store: Store, source: ImageSource, r: ResolvedManifest, key: string, o: OciImportOptions, now: () => number): Promise<Omit<OciImportResult, 'trust' | 'unchanged'>> {
  const m = r.manifest;
  const what = source.description;
  checkConfigDescriptor(m.config, what);
  const configBytes = await readSmallBlob(source, m.config, MAX_OCI_CONFIG_BYTES, 'image config');
  const config = parseImageConfig(configBytes, `${what}: image config`);
  if (config.diffIds.length !== m.layers.length) {
    throw new CapsuleError('invalid-oci-manifest', `${what}: the manifest has ${m.layers.length} layers but the config lists ${config.diffIds.length} diff_ids`);
  }
  const cfgPlatform = formatPlatform({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) });
  if (!r.fromIndex && (config.os !== o.platform.os || config.architecture !== o.platform.architecture)) {
    o.warn?.(`image ${what} is for ${cfgPlatform}, not ${formatPlatform(o.platform)}`);
  }
  const id = parseImageId(m.config.digest);
  const layers: StoredLayer[] = m.layers.map((l, i) => {
    if (l.mediaType.includes('nondistributable') || l.mediaType.includes('foreign')) {
      if (l.urls && l.urls.length > 0) throw new CapsuleError('unsupported-layer', `${what}: layer ${shortDigest(l.digest)} is a foreign layer served from ${l.urls.length} external URL(s), which Capsule does not fetch`);
    }
    return { digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: config.diffIds[i]! };
  });

  // Blobs this import added: removed again when it fails (and no image holds them), so a refused
  // image leaves nothing in the store. Partial downloads stay in cas/tmp for a resume.
  const added: string[] = [];
  try {
    return await storeAndIndex(store, source, r, key, o, now, { id, config, configBytes, layers, cfgPlatform }, added);
  } catch (e) {
    const { blobInUse } = await import('../store/oci-index.js');
    const { ociBlobPath } = await import('../store/layout.js');
    for (const d of added) if (!blobInUse(store.db, d)) fs.rmSync(ociBlobPath(store.layout, d), { force: true });
    throw e;
  }
}

interface Prepared {
  id: ImageId;
  config: ReturnType<typeof parseImageConfig>;
  configBytes: Buffer;
  layers: StoredLayer[];
  cfgPlatform: string;
}

async function storeAndIndex(store: Store, source: ImageSource, r: ResolvedManifest, key: string, o: OciImportOptions, now: () => number, p: Prepared, added: string[]): Promise<Omit<OciImportResult, 'trust' | 'unchanged'>> {
  const m = r.manifest;
  const { id, config, configBytes, layers } = p;
  const { manifest, run } = configToApp(config, source.ref, id);
  const treeId = ociTreeId(layers);
  const render = !(getTree(store.db, treeId) && treeIsRendered(store, treeId));
  const tmp = render ? await store.makeTemp(tempName('tree')) : undefined;
  try {
    let fetched = 0;
    let writer: LayerWriter | undefined;
    // Each layer is applied as soon as it and every layer below it are there, while the ones
    // above still download: the renderer follows a downloading layer's file as it is written.
    const feeds = m.layers.map((l) => new LayerFeed(l.size));
    const abort = new AbortController();
    const downloads = pool(m.layers, LAYER_CONCURRENCY, async (l, i) => {
      const bar = o.progress?.(`layer ${shortDigest(l.digest)}`, l.size);
      try {
        const got = await fetchBlobToStore(store, source, l, 'layer', { onBytes: bar ? (n) => bar.add(n) : undefined, observer: feeds[i], signal: abort.signal });
        if (got === 'stored') {
          fetched++;
          added.push(l.digest);
        }
      } catch (e) {
        feeds[i]!.fail(e);
        throw e;
      } finally {
        bar?.done();
      }
    }).catch((e: unknown) => {
      // Layers that will not start now: their renderer must not wait for them.
      for (const f of feeds) f.fail(e);
      throw e;
    });
    const rendering = tmp === undefined ? Promise.resolve() : (async () => {
      fs.mkdirSync(tmp, { mode: 0o700 });
      const rootfs = path.join(tmp, 'rootfs');
      fs.mkdirSync(rootfs, { mode: 0o700 });
      const w = new LayerWriter(rootfs);
      for (const [i, l] of layers.entries()) {
        const f = feeds[i]!;
        const got = await f.ready();
        if (got === 'present') await applyLayer(store, w, l);
        else await applyLayerBytes(w, l, f.chunks());
      }
      w.finish();
      writer = w;
    })().catch((e: unknown) => {
      abort.abort(e);
      throw e;
    });
    // Both settle before anything goes on (or is cleaned up). A failed download fails the
    // renderer with its own error; a failed render aborts the downloads with its error.
    const [dl, rd] = await Promise.allSettled([downloads, rendering]);
    if (rd.status === 'rejected') throw rd.reason;
    if (dl.status === 'rejected') throw dl.reason;
    crashPoint('oci-after-layers');
    if (await storeBlobBytes(store, m.config.digest, configBytes)) added.push(m.config.digest);
    if (await storeBlobBytes(store, r.manifestDigest, r.manifestBytes)) added.push(r.manifestDigest);
    if (r.topDigest !== r.manifestDigest && (await storeBlobBytes(store, r.topDigest, r.topBytes))) added.push(r.topDigest);
    if (tmp !== undefined && writer !== undefined) {
      crashPoint('before-tree-commit');
      await testPauseAsync('before-tree-commit');
      await commitTree(store, tmp, { id: treeId, imageId: id, deps: layers.map((l) => l.digest), size: treeBytes(writer.nodes.values()), created: now() });
    }
    return indexImage(store, source, r, key, o, now, p, { manifest, run, fetched, policy: writer?.report });
  } finally {
    if (tmp !== undefined) await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}

function indexImage(
  store: Store,
  source: ImageSource,
  r: ResolvedManifest,
  key: string,
  o: OciImportOptions,
  now: () => number,
  p: Prepared,
  x: { manifest: ImageManifest; run: ReturnType<typeof configToApp>['run']; fetched: number; policy: LayerPolicyReport | undefined },
): Omit<OciImportResult, 'trust' | 'unchanged'> {
  const m = r.manifest;
  const { id, layers, cfgPlatform } = p;
  const { manifest, run, fetched, policy } = x;
  crashPoint('before-index');
  const blobs = [...new Set([r.topDigest, r.manifestDigest, m.config.digest, ...layers.map((l) => l.digest)])];
  const size = m.config.size + r.manifestBytes.length + (r.topDigest !== r.manifestDigest ? r.topBytes.length : 0) + layers.reduce((a, l) => a + l.size, 0);
  const platform = formatPlatform(o.platform);
  const t = now();
  store.db.transaction(() => {
    upsertImage(store.db, { id, kind: 'oci', name: repositoryName(source.ref), labels: labelsOf(manifest), manifest, manifestText: JSON.stringify(manifest), size, latest: source.ref.tag === 'latest' }, t);
    upsertOciImage(
      store.db,
      { imageId: id, manifestDigest: r.manifestDigest, manifestMediaType: m.mediaType, configDigest: m.config.digest, platform: cfgPlatform, layers, run },
      { ref: key, name: repositoryName(source.ref), tag: source.ref.tag, topDigest: r.topDigest, source: o.sourceString, platform, updated: t },
      blobs,
    );
  })();
  return { id, manifest, fetchedLayers: fetched, policy };
}
