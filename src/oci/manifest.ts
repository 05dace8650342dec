import { CapsuleError } from '../errors/capsule-error.js';
import { parseStrictJsonBytes } from '../spec/json-limits.js';
import { MEDIA, type Descriptor, type Platform, type Sha256Digest } from './types.js';

/** Bounds on what a source may make us read into memory (containers/image uses 4 MiB for both). */
export const MAX_OCI_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_OCI_CONFIG_BYTES = 8 * 1024 * 1024;
const MAX_ENTRIES = 1000;

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

const bad = (what: string, why: string): CapsuleError => new CapsuleError('invalid-oci-manifest', `${what}: ${why}`);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseDigest(s: unknown, what: string): Sha256Digest {
  if (typeof s !== 'string') throw bad(what, 'digest must be a string');
  if (DIGEST.test(s)) return s as Sha256Digest;
  if (ANY_DIGEST.test(s)) throw new CapsuleError('unsupported-digest', `${what}: digest ${JSON.stringify(s.slice(0, 80))} is not sha256 (the only algorithm Capsule accepts)`);
  throw bad(what, `invalid digest ${JSON.stringify(s.slice(0, 80))}`);
}

export function shortDigest(d: string): string {
  return d.slice(0, 'sha256:'.length + 12);
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw bad(what, 'must be a string');
  return v;
}

function strMap(v: unknown, what: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw bad(what, 'must be an object');
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw bad(`${what}.${k}`, 'must be a string');
  return v as Record<string, string>;
}

function platform(v: unknown, what: string): Platform | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw bad(what, 'must be an object');
  const p: Platform = { os: str(v.os, `${what}.os`), architecture: str(v.architecture, `${what}.architecture`) };
  if (v.variant !== undefined) p.variant = str(v.variant, `${what}.variant`);
  if (v['os.version'] !== undefined) p['os.version'] = str(v['os.version'], `${what}.os.version`);
  return p;
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isObj(v)) throw bad(what, 'must be an object');
  const d: Descriptor = { mediaType: str(v.mediaType, `${what}.mediaType`), digest: parseDigest(v.digest, `${what}.digest`), size: 0 };
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) throw bad(`${what}.size`, 'must be a non-negative integer');
  d.size = v.size;
  const a = strMap(v.annotations, `${what}.annotations`);
  if (a) d.annotations = a;
  const p = platform(v.platform, `${what}.platform`);
  if (p) d.platform = p;
  if (v.urls !== undefined) {
    if (!Array.isArray(v.urls) || v.urls.some((u) => typeof u !== 'string')) throw bad(`${what}.urls`, 'must be a list of strings');
    d.urls = v.urls as string[];
  }
  return d;
}

export interface ParsedIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ParsedManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

const INDEX_TYPES = new Set<string>([MEDIA.ociIndex, MEDIA.dockerList]);
const MANIFEST_TYPES = new Set<string>([MEDIA.ociManifest, MEDIA.dockerManifest]);
const SCHEMA1 = new Set<string>([MEDIA.dockerSchema1, MEDIA.dockerSchema1Signed, 'application/json']);

/** Whether a descriptor's media type names an index or a manifest this importer reads. */
export function isIndexType(t: string): boolean {
  return INDEX_TYPES.has(t);
}
export function isManifestType(t: string): boolean {
  return MANIFEST_TYPES.has(t);
}

/**
 * Parses a manifest or index from its exact bytes (already size- and digest-checked by the
 * caller). The type is the source's (Content-Type, a descriptor's mediaType) checked against the
 * body's own `mediaType`; Docker schema 1 is refused by name.
 */
export function parseManifestBytes(bytes: Buffer, sourceType: string, what: string): ParsedIndex | ParsedManifest {
  const v = parseStrictJsonBytes(bytes, what, MAX_OCI_MANIFEST_BYTES);
  if (!isObj(v)) throw bad(what, 'must be a JSON object');
  const bodyType = typeof v.mediaType === 'string' ? v.mediaType : undefined;
  if (v.schemaVersion === 1 || (bodyType !== undefined && (bodyType === MEDIA.dockerSchema1 || bodyType === MEDIA.dockerSchema1Signed)) || sourceType === MEDIA.dockerSchema1 || sourceType === MEDIA.dockerSchema1Signed) {
    throw new CapsuleError('unsupported-manifest', `${what}: Docker schema 1 manifests (${MEDIA.dockerSchema1Signed}) are not supported; push the image again with a current tool (schema 2 or OCI)`);
  }
  if (v.schemaVersion !== 2) throw bad(what, 'schemaVersion must be 2');
  const generic = sourceType === '' || SCHEMA1.has(sourceType) || sourceType === 'application/octet-stream';
  if (!generic && bodyType !== undefined && bodyType !== sourceType) throw bad(what, `media type ${JSON.stringify(bodyType)} differs from ${JSON.stringify(sourceType)} it was served as`);
  let type = generic ? bodyType : sourceType;
  if (type === undefined) type = Array.isArray(v.manifests) ? MEDIA.ociIndex : MEDIA.ociManifest;
  const annotations = strMap(v.annotations, `${what}.annotations`);
  if (INDEX_TYPES.has(type)) {
    if (!Array.isArray(v.manifests)) throw bad(what, 'manifests must be a list');
    if (v.manifests.length > MAX_ENTRIES) throw bad(what, `more than ${MAX_ENTRIES} manifests`);
    return { kind: 'index', mediaType: type, manifests: v.manifests.map((m, i) => parseDescriptor(m, `${what}: manifests[${i}]`)), ...(annotations ? { annotations } : {}) };
  }
  if (MANIFEST_TYPES.has(type)) {
    if (!Array.isArray(v.layers)) throw bad(what, 'layers must be a list');
    if (v.layers.length > MAX_ENTRIES) throw bad(what, `more than ${MAX_ENTRIES} layers`);
    return {
      kind: 'manifest',
      mediaType: type,
      config: parseDescriptor(v.config, `${what}: config`),
      layers: v.layers.map((l, i) => parseDescriptor(l, `${what}: layers[${i}]`)),
      ...(annotations ? { annotations } : {}),
    };
  }
  throw new CapsuleError('unsupported-manifest', `${what}: unsupported manifest media type ${JSON.stringify(type)}`);
}

/** The parts of an image config Capsule uses (image-spec config.md). */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config: {
    User?: string;
    ExposedPorts?: Record<string, unknown>;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    Volumes?: Record<string, unknown>;
    WorkingDir?: string;
    Labels?: Record<string, string>;
    StopSignal?: string;
  };
  diffIds: Sha256Digest[];
}

function strList(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw bad(what, 'must be a list of strings');
  return v as string[];
}

function optStr(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  return str(v, what);
}

function keySet(v: unknown, what: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw bad(what, 'must be an object');
  return v;
}

export function parseImageConfig(bytes: Buffer, what: string): ImageConfig {
  const v = parseStrictJsonBytes(bytes, what, MAX_OCI_CONFIG_BYTES);
  if (!isObj(v)) throw bad(what, 'must be a JSON object');
  const rootfs = v.rootfs;
  if (!isObj(rootfs)) throw bad(what, 'rootfs must be an object');
  if (rootfs.type !== 'layers') throw bad(what, `rootfs.type ${JSON.stringify(rootfs.type)} is not "layers"`);
  if (!Array.isArray(rootfs.diff_ids)) throw bad(what, 'rootfs.diff_ids must be a list');
  const diffIds = rootfs.diff_ids.map((d, i) => parseDigest(d, `${what}: rootfs.diff_ids[${i}]`));
  const c = v.config === undefined || v.config === null ? {} : v.config;
  if (!isObj(c)) throw bad(what, 'config must be an object');
  const out: ImageConfig = { architecture: str(v.architecture ?? '', `${what}: architecture`), os: str(v.os ?? '', `${what}: os`), config: {}, diffIds };
  const variant = optStr(v.variant, `${what}: variant`);
  if (variant) out.variant = variant;
  const created = optStr(v.created, `${what}: created`);
  if (created) out.created = created;
  const author = optStr(v.author, `${what}: author`);
  if (author) out.author = author;
  const f = (k: string): string => `${what}: config.${k}`;
  const cc = out.config;
  const user = optStr(c.User, f('User'));
  if (user !== undefined) cc.User = user;
  const ports = keySet(c.ExposedPorts, f('ExposedPorts'));
  if (ports) cc.ExposedPorts = ports;
  const env = strList(c.Env, f('Env'));
  if (env) cc.Env = env;
  const ep = strList(c.Entrypoint, f('Entrypoint'));
  if (ep) cc.Entrypoint = ep;
  const cmd = strList(c.Cmd, f('Cmd'));
  if (cmd) cc.Cmd = cmd;
  const vols = keySet(c.Volumes, f('Volumes'));
  if (vols) cc.Volumes = vols;
  const wd = optStr(c.WorkingDir, f('WorkingDir'));
  if (wd !== undefined) cc.WorkingDir = wd;
  const labels = strMap(c.Labels, f('Labels'));
  if (labels) cc.Labels = labels;
  const stop = optStr(c.StopSignal, f('StopSignal'));
  if (stop) cc.StopSignal = stop;
  return out;
}
