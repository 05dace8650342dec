import { createHash } from 'node:crypto';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';
import { parseStrictJsonBytes } from '../spec/json-limits.js';
import { readSmall, TarFiles, type FileSet } from './blob-files.js';
import { sha256Of } from './digest.js';
import { localReference } from './layout-source.js';
import { MAX_OCI_CONFIG_BYTES, MAX_OCI_MANIFEST_BYTES, parseImageConfig } from './manifest.js';
import { formatReference, parseOciReference, type OciReference } from './reference.js';
import { MEDIA, type Descriptor, type ImageSource, type RawManifest, type Sha256Digest } from './types.js';

/** Layer media types of a docker-archive: what `docker save` writes (plain tars), or gzip when the bytes say so. */
const LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';
const LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

interface SaveEntry {
  config: string;
  repoTags: string[];
  layers: string[];
}

async function readSaveManifest(files: FileSet): Promise<SaveEntry[]> {
  if (files.size('manifest.json') === undefined) {
    const legacy = files.size('repositories') !== undefined;
    throw new CapsuleError('bad-layout', `${files.description} is not a docker-archive (no manifest.json${legacy ? '; the pre-1.10 "repositories" format is not supported' : ''})`);
  }
  const v = parseStrictJsonBytes(await readSmall(files, 'manifest.json', MAX_OCI_MANIFEST_BYTES, 'manifest.json'), `${files.description}: manifest.json`, MAX_OCI_MANIFEST_BYTES);
  if (!Array.isArray(v) || v.length === 0) throw new CapsuleError('bad-layout', `${files.description}: manifest.json lists no image`);
  return v.map((e, i) => {
    const what = `${files.description}: manifest.json[${i}]`;
    if (!isObj(e) || typeof e.Config !== 'string' || !Array.isArray(e.Layers) || e.Layers.some((l) => typeof l !== 'string')) throw new CapsuleError('bad-layout', `${what} needs Config and Layers`);
    const tags = Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    return { config: e.Config, repoTags: tags, layers: e.Layers as string[] };
  });
}

/** Whether `want` (as typed: `busybox:1`, `docker.io/library/busybox:1`) names `tag` (a RepoTags entry). */
function sameRef(want: OciReference, tag: string): boolean {
  try {
    return formatReference(parseOciReference(tag)) === formatReference(want);
  } catch {
    return false;
  }
}

/** Content of an archive member as a descriptor: its sha256 (computed here) and size. */
async function describeMember(files: FileSet, name: string, what: string): Promise<{ digest: Sha256Digest; size: number; gzip: boolean }> {
  const size = files.size(name);
  if (size === undefined) throw new CapsuleError('blob-missing', `${files.description}: ${what} ${JSON.stringify(name)} is missing`);
  const h = createHash('sha256');
  let first: Buffer | undefined;
  for await (const c of files.stream(name, 0)) {
    first ??= c;
    h.update(c);
  }
  return { digest: `sha256:${h.digest('hex')}` as Sha256Digest, size, gzip: first !== undefined && first[0] === 0x1f && first[1] === 0x8b };
}

/**
 * A `docker save` / `podman save` tarball (`docker-archive:FILE[:NAME:TAG]`) as an ImageSource.
 * Such an archive has no registry manifest: one (Docker schema 2) is made here from manifest.json,
 * with every layer's digest computed from its bytes (older archives name layers by v1 IDs), so the
 * importer checks and stores them as it does any source's. The image is the entry whose RepoTags
 * holds NAME:TAG, or the only one.
 */
export class DockerArchiveSource implements ImageSource {
  readonly canResume = true;
  private readonly blobs = new Map<string, string>();

  private constructor(
    private readonly files: FileSet,
    readonly description: string,
    readonly ref: OciReference,
    private readonly manifest: Buffer,
    blobs: Map<string, string>,
  ) {
    this.blobs = blobs;
  }

  static async open(file: string, name: string | undefined): Promise<DockerArchiveSource> {
    const abs = path.resolve(file);
    const description = `docker-archive:${abs}${name !== undefined ? `:${name}` : ''}`;
    const files = await TarFiles.open(abs, description);
    const entries = await readSaveManifest(files);
    let entry: SaveEntry | undefined;
    let ref: OciReference;
    if (name !== undefined) {
      if (name.startsWith('@')) throw new CapsuleError('unsupported', `${description}: choosing an image by index (@N) is not supported; name it by NAME:TAG`);
      const want = parseOciReference(name);
      entry = entries.find((e) => e.repoTags.some((t) => sameRef(want, t)));
      if (!entry) {
        const tags = entries.flatMap((e) => e.repoTags);
        throw new CapsuleError('image-not-found', `${description}: no image tagged ${JSON.stringify(name)}${tags.length > 0 ? ` (it has ${tags.map((t) => JSON.stringify(t)).join(', ')})` : ' (its images have no tags)'}`);
      }
      ref = { registry: want.registry, repository: want.repository, ...(want.tag !== undefined ? { tag: want.tag } : {}) };
    } else {
      if (entries.length > 1) throw new CapsuleError('image-not-found', `${description} holds ${entries.length} images; name one as docker-archive:FILE:NAME:TAG (${entries.flatMap((e) => e.repoTags).map((t) => JSON.stringify(t)).join(', ')})`);
      entry = entries[0]!;
      const first = entry.repoTags[0];
      let parsed: OciReference | undefined;
      try {
        parsed = first === undefined ? undefined : parseOciReference(first);
      } catch {
        parsed = undefined;
      }
      ref = parsed ? { registry: parsed.registry, repository: parsed.repository, ...(parsed.tag !== undefined ? { tag: parsed.tag } : {}) } : localReference(undefined, path.basename(abs));
    }
    const blobs = new Map<string, string>();
    const cfg = await describeMember(files, entry.config, 'config');
    blobs.set(cfg.digest, entry.config);
    // The config's diff_ids say how many layers there must be; a mismatch is caught by the importer too.
    const config = parseImageConfig(await readSmall(files, entry.config, MAX_OCI_CONFIG_BYTES, 'config'), `${description}: config`);
    const layers: Descriptor[] = [];
    for (const l of entry.layers) {
      const d = await describeMember(files, l, 'layer');
      blobs.set(d.digest, l);
      layers.push({ mediaType: d.gzip ? LAYER_GZIP : LAYER_TAR, digest: d.digest, size: d.size });
    }
    if (config.diffIds.length !== layers.length) throw new CapsuleError('invalid-oci-manifest', `${description}: manifest.json lists ${layers.length} layers but the config has ${config.diffIds.length} diff_ids`);
    const manifest = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.dockerManifest, config: { mediaType: MEDIA.dockerConfig, digest: cfg.digest, size: cfg.size }, layers }),
    );
    return new DockerArchiveSource(files, description, { ...ref, digest: sha256Of(manifest) }, manifest, blobs);
  }

  getManifest(digest: Sha256Digest | undefined): Promise<RawManifest> {
    if (digest !== undefined && digest !== this.ref.digest) return Promise.reject(new CapsuleError('blob-missing', `${this.description}: no manifest ${digest}`));
    return Promise.resolve({ bytes: this.manifest, mediaType: MEDIA.dockerManifest });
  }

  getBlob(desc: Descriptor, offset: number): Promise<AsyncIterable<Buffer>> {
    const name = this.blobs.get(desc.digest);
    if (name === undefined) return Promise.reject(new CapsuleError('blob-missing', `${this.description}: blob ${desc.digest.slice(0, 19)}… is not in the archive`));
    return Promise.resolve(this.files.stream(name, offset));
  }

  getSignatures(): Promise<Buffer[]> {
    return Promise.resolve([]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
