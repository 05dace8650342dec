import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';
import { parseBoundedJson, parseStrictJsonBytes } from '../spec/json-limits.js';
import { DirFiles, readSmall, TarFiles, type FileSet } from './blob-files.js';
import { MAX_OCI_MANIFEST_BYTES, parseDescriptor } from './manifest.js';
import { parseOciReference, type OciReference } from './reference.js';
import type { Descriptor, ImageSource, RawManifest, Sha256Digest } from './types.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function blobName(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

/**
 * The name a local image is stored under. A ref.name that is a whole reference
 * (`registry/repo:tag`, as buildah and podman write) is used as it is; a bare tag (what skopeo
 * and umoci write) goes with `localhost/<the layout's base name>`, podman's prefix for local images.
 */
export function localReference(refName: string | undefined, fallbackName: string): Omit<OciReference, 'digest'> {
  const base = fallbackName.toLowerCase().replace(/\.(tar|oci|tgz)$/, '').replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'image';
  if (refName !== undefined && (refName.includes('/') || /^[^:]+:[^:]+$/.test(refName) && !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(refName))) {
    try {
      const r = parseOciReference(refName);
      return { registry: r.registry, repository: r.repository, ...(r.tag !== undefined ? { tag: r.tag } : {}) };
    } catch {
      /* not a reference: a tag of our own name below */
    }
  }
  const tag = refName !== undefined && /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(refName) ? refName : 'latest';
  return { registry: 'localhost', repository: base, tag };
}

/** index.json's entries, each with its ref.name. */
async function readIndex(files: FileSet): Promise<Descriptor[]> {
  const layout = files.size('oci-layout');
  if (layout === undefined) throw new CapsuleError('bad-layout', `${files.description} is not an OCI image layout (no oci-layout file)`);
  const lv = parseBoundedJson((await readSmall(files, 'oci-layout', 4096, 'oci-layout')).toString('utf8'), `${files.description}: oci-layout`);
  if (!isObj(lv) || typeof lv.imageLayoutVersion !== 'string' || !lv.imageLayoutVersion.startsWith('1.')) {
    throw new CapsuleError('bad-layout', `${files.description}: unsupported imageLayoutVersion ${JSON.stringify(isObj(lv) ? lv.imageLayoutVersion : lv)}`);
  }
  const v = parseStrictJsonBytes(await readSmall(files, 'index.json', MAX_OCI_MANIFEST_BYTES, 'index.json'), `${files.description}: index.json`, MAX_OCI_MANIFEST_BYTES);
  if (!isObj(v) || !Array.isArray(v.manifests)) throw new CapsuleError('bad-layout', `${files.description}: index.json has no manifests list`);
  return v.manifests.map((m, i) => parseDescriptor(m, `${files.description}: index.json manifests[${i}]`));
}

/**
 * An OCI image layout (a directory, or a tar of one) as an ImageSource. The image is the
 * index.json entry whose ref.name is `tag` (or, without a tag, the only entry). Its descriptor's
 * digest becomes the reference's digest, so the importer checks the bytes against it.
 */
export class LayoutSource implements ImageSource {
  readonly canResume = true;
  private readonly types = new Map<string, string>();

  private constructor(
    private readonly files: FileSet,
    readonly description: string,
    readonly ref: OciReference,
    private readonly entry: Descriptor,
  ) {
    this.types.set(entry.digest, entry.mediaType);
  }

  static async open(files: FileSet, description: string, tag: string | undefined, fallbackName: string): Promise<LayoutSource> {
    const entries = await readIndex(files);
    const named = (d: Descriptor): string | undefined => d.annotations?.[REF_NAME];
    let entry: Descriptor | undefined;
    if (tag !== undefined) {
      entry = entries.find((d) => named(d) === tag) ?? entries.find((d) => {
        const n = named(d);
        return n !== undefined && n.endsWith(`:${tag}`);
      });
      if (!entry) {
        const tags = entries.map(named).filter((n): n is string => n !== undefined);
        throw new CapsuleError('image-not-found', `${description}: no image tagged ${JSON.stringify(tag)}${tags.length > 0 ? ` (it has ${tags.map((t) => JSON.stringify(t)).join(', ')})` : ' (its images have no tags)'}`);
      }
    } else if (entries.length === 1) entry = entries[0];
    else {
      const tags = entries.map(named).filter((n): n is string => n !== undefined);
      throw new CapsuleError('image-not-found', `${description} holds ${entries.length} images; name one by tag${tags.length > 0 ? ` (${tags.map((t) => JSON.stringify(t)).join(', ')})` : ''}`);
    }
    if (!entry) throw new CapsuleError('image-not-found', `${description} holds no image`);
    const ref: OciReference = { ...localReference(named(entry), fallbackName), digest: entry.digest };
    return new LayoutSource(files, description, ref, entry);
  }

  async getManifest(digest: Sha256Digest | undefined, maxBytes: number): Promise<RawManifest> {
    const d = digest ?? this.entry.digest;
    const name = blobName(d);
    const size = this.files.size(name);
    if (size === undefined) throw new CapsuleError('blob-missing', `${this.description}: manifest ${d.slice(0, 19)}… is missing`);
    // The index.json entry's size bounds the top manifest as a child's descriptor bounds it.
    const max = d === this.entry.digest ? Math.min(maxBytes, this.entry.size) : maxBytes;
    if (size > max) throw new CapsuleError('size-mismatch', `${this.description}: manifest ${d.slice(0, 19)}… has ${size} bytes, more than ${max} allowed`);
    const bytes = await readSmall(this.files, name, max, `manifest ${d.slice(0, 19)}…`);
    return { bytes, mediaType: this.types.get(d) ?? '' };
  }

  getBlob(desc: Descriptor, offset: number): Promise<AsyncIterable<Buffer>> {
    const name = blobName(desc.digest);
    if (this.files.size(name) === undefined) return Promise.reject(new CapsuleError('blob-missing', `${this.description}: blob ${desc.digest.slice(0, 19)}… is missing`));
    return Promise.resolve(this.files.stream(name, offset));
  }

  getSignatures(): Promise<Buffer[]> {
    return Promise.resolve([]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** `oci:PATH[:TAG]`: an image-layout directory. */
export async function openOciLayout(dir: string, tag: string | undefined): Promise<LayoutSource> {
  const abs = path.resolve(dir);
  const desc = `oci:${abs}${tag !== undefined ? `:${tag}` : ''}`;
  return LayoutSource.open(new DirFiles(abs, desc), desc, tag, path.basename(abs));
}

/** `oci-archive:FILE[:TAG]`: a tar of an image layout, read in place. */
export async function openOciArchive(file: string, tag: string | undefined): Promise<LayoutSource> {
  const abs = path.resolve(file);
  const desc = `oci-archive:${abs}${tag !== undefined ? `:${tag}` : ''}`;
  return LayoutSource.open(await TarFiles.open(abs, desc), desc, tag, path.basename(abs));
}
