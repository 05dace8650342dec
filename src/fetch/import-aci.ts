import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readAci } from '../aci/read-aci.js';
import { DEFAULT_SIZE_LIMITS, type SizeLimits } from '../aci/size-limits.js';
import { TreeWriter } from '../aci/tree-writer.js';
import { CapsuleError } from '../errors/capsule-error.js';
import { imageIdFromHex, type ImageId } from '../spec/image-id.js';
import type { Dependency, ImageManifest } from '../spec/image-manifest.js';
import { checkRunnablePlatform, type Platform } from '../spec/os-arch.js';
import { DependencyMissing, resolveStoredDependency } from '../store/dependencies.js';
import { labelsOf, upsertImage } from '../store/image-index.js';
import { blobPath } from '../store/layout.js';
import { applyLayers, applyOwnWhitelist } from '../store/render.js';
import { planRender, treeIdOf, type PlannedLayer, type RenderImage } from '../store/render-plan.js';
import type { Store } from '../store/store.js';
import { commitTree, treeBytes } from '../store/tree-store.js';
import { fsyncDir, tempName } from '../sys/atomic-write.js';
import { makeDirs } from '../sys/shared-dir.js';
import { crashPoint, testPauseAsync } from '../sys/crash-point.js';
import { openTarIntake } from './tar-intake.js';
import { checkSignerTrustedFor, verifyingStream, type VerifiedSignature } from '../verify/signature.js';
import type { StoredKey } from '../verify/keystore.js';

export interface ImportSource {
  /** The image bytes as fetched (possibly compressed). */
  data: AsyncIterable<Uint8Array>;
  /** Detached armored signature over exactly those bytes; absent only with --insecure-options=image. */
  signature: string | undefined;
  /** Human label for messages. */
  label: string;
  /** The size of `data` when known (Content-Length, file size); large gzip images are inflated in a worker. */
  size?: number;
}

export interface ImportOptions {
  trustedKeys: StoredKey[];
  /** When fetched by name: the manifest name must equal it. */
  expectedName?: string;
  /** When fetched by name with labels: each must be in the manifest with that value (rkt's checks). */
  expectedLabels?: Record<string, string>;
  /** The image is fetched to run on this platform: its os and arch labels must name it (not set for dependencies). */
  platform?: Platform;
  /** Fetches a dependency the store lacks (by name, through discovery); without it a missing one fails. */
  fetchDependency?: (dep: Dependency) => Promise<void>;
  latest?: boolean;
  /** Render the tree while importing (default: when running as root; `run` renders a missing one). */
  render?: boolean;
  sizeLimits?: SizeLimits;
  now?: () => number;
  /** Called with each chunk's size as raw bytes are read (progress). */
  onRawBytes?: (n: number) => void;
}

export interface ImportResult {
  id: ImageId;
  manifest: ImageManifest;
  signer: VerifiedSignature | undefined;
}

/**
 * One streaming pass over the image bytes: verify the signature, decompress, hash (the image ID),
 * keep the uncompressed tar as the blob and extract the rootfs into a private temp tree (large gzip
 * images are inflated, hashed and written to the blob by a worker thread: tar-intake.ts).
 * Nothing becomes visible until everything checked out; then blob, tree and index row are
 * committed in that order, so a crash at any point never leaves an image that lists as good.
 */
export async function importAci(store: Store, src: ImportSource, opts: ImportOptions): Promise<ImportResult> {
  const limits = opts.sizeLimits ?? DEFAULT_SIZE_LIMITS;
  const now = opts.now ?? Date.now;
  const lock = await store.lock('shared');
  const tmpBlob = await store.makeTemp(tempName('blob'));
  const tmpTree = await store.makeTemp(tempName('tree'));
  try {
    let compressed = 0;
    const counted = (async function* () {
      for await (const c of src.data) {
        compressed += c.length;
        opts.onRawBytes?.(c.length);
        yield c;
      }
    })();
    let verified: Awaited<ReturnType<typeof verifyingStream>> | undefined;
    if (src.signature !== undefined) verified = await verifyingStream(counted, src.signature, opts.trustedKeys, opts.expectedName);
    const bytes = verified ? verified.data : counted;

    // Only root renders on fetch: a tree a user extracted would hold that user's files instead of
    // the image's owners. A user's fetch stores the blob and the index row; `run` renders later.
    const render = opts.render ?? (process.getuid?.() ?? 0) === 0;
    let writer: TreeWriter | undefined;
    if (render) {
      fs.mkdirSync(path.join(tmpTree, 'rootfs'), { recursive: true, mode: 0o700 });
      writer = new TreeWriter(path.join(tmpTree, 'rootfs'));
      writer.nextLayer();
    }
    const tar = await openTarIntake(bytes, { blobFile: tmpBlob, limits, compressedSoFar: () => compressed, sizeHint: src.size });
    let manifest: ImageManifest;
    let manifestText: string;
    let sha512: string;
    let size: number;
    try {
      ({ manifest, manifestText } = await readAci(tar.chunks, writer));
      crashPoint('after-extract');
      await testPauseAsync('after-extract');
      ({ sha512, size } = await tar.finish());
    } catch (e) {
      await tar.abort();
      throw e;
    }
    const id = imageIdFromHex(sha512);

    let signer: VerifiedSignature | undefined;
    if (verified) signer = checkSignerTrustedFor(await verified.result(), manifest.name);
    if (opts.expectedName !== undefined && manifest.name !== opts.expectedName) {
      throw new CapsuleError('name-mismatch', `error when reading the app name: ${JSON.stringify(opts.expectedName)} expected but ${JSON.stringify(manifest.name)} found`);
    }

    if (opts.expectedLabels) checkRequestedLabels(opts.expectedLabels, manifest);
    if (opts.platform) checkRunnablePlatform(labelsOf(manifest), opts.platform);

    // Dependencies come from the store (fetched first when a fetcher is given); a missing one
    // fails the import before anything is committed.
    const top = { id, manifest };
    const plan = await planWithDependencies(store, top, opts.fetchDependency);

    crashPoint('before-blob-commit');
    await commitBlob(store, tmpBlob, id, size);
    crashPoint('after-blob-commit');
    if (writer) {
      applyOwnWhitelist(writer, plan[0]!);
      await applyLayers(store, writer, plan.slice(1));
      writer.finish();
      const treeId = treeIdOf(plan);
      crashPoint('before-tree-commit');
      await commitTree(store, tmpTree, { id: treeId, imageId: id, deps: plan.map((l) => l.id), size: treeBytes(writer.nodes.values()), created: now() });
    }
    crashPoint('before-index');
    upsertImage(store.db, { id, name: manifest.name, labels: labelsOf(manifest), manifest, manifestText, size, latest: opts.latest ?? false }, now());
    return { id, manifest, signer };
  } finally {
    lock.release();
    await fs.promises.rm(tmpBlob, { force: true });
    await fs.promises.rm(tmpTree, { recursive: true, force: true });
  }
}

/** Moves a hashed temp blob to its content address; "already there" keeps the existing one. */
async function commitBlob(store: Store, tmp: string, id: ImageId, size: number): Promise<void> {
  const dest = blobPath(store.layout, id);
  makeDirs(path.dirname(dest), store.modes.writableDir);
  // Already there means verify, not overwrite: keep it only if it still hashes to its name.
  if (fs.existsSync(dest) && fs.statSync(dest).size === size && (await sha512File(dest)) === id) return;
  if (store.modes.shared) fs.chmodSync(tmp, store.modes.readableFile);
  fs.renameSync(tmp, dest);
  await fsyncDir(path.dirname(dest));
}

async function sha512File(file: string): Promise<string> {
  const h = createHash('sha512');
  for await (const c of fs.createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) h.update(c);
  return `sha512-${h.digest('hex')}`;
}

/** rkt: after a fetch by name, every requested label must be in the manifest with the same value. */
export function checkRequestedLabels(requested: Record<string, string>, m: ImageManifest): void {
  const have = labelsOf(m);
  for (const [k, v] of Object.entries(requested)) {
    if (have[k] === undefined) throw new CapsuleError('label-mismatch', `requested label ${JSON.stringify(k)} not provided by the image manifest`);
    if (have[k] !== v) throw new CapsuleError('label-mismatch', `requested value for label ${JSON.stringify(k)}: ${JSON.stringify(v)} differs from fetched aci label value: ${JSON.stringify(have[k])}`);
  }
}

const MAX_DEPENDENCY_FETCHES = 64;

async function planWithDependencies(store: Store, top: RenderImage, fetchDependency: ImportOptions['fetchDependency']): Promise<PlannedLayer[]> {
  for (let fetched = 0; ; fetched++) {
    try {
      return planRender(top, (dep) => resolveStoredDependency(store.db, dep));
    } catch (e) {
      if (!(e instanceof DependencyMissing) || !fetchDependency || fetched >= MAX_DEPENDENCY_FETCHES) throw e;
      await fetchDependency(e.dep);
    }
  }
}
