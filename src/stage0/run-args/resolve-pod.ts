import { volumeModeProblem } from '../../spec/volume-mode.js';
import type { InsecureOption } from '../../config/global-options.js';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';
import { parseAcIdentifier, parseAcName } from '../../spec/ac-identifier.js';
import { validateImageManifest, type Annotation, type App, type Label } from '../../spec/image-manifest.js';
import { parseStrictManifestJson } from '../../spec/json-limits.js';
import type { AppRuntime, PodVolume, Stage1Flavour } from '../../stage1/contract.js';
import { parseEnvFile } from './env-file.js';
import { resolveApp, type AppImage, type ResolvedApp } from './resolve-app.js';
import type { AppSpec, MountFlag, RunSpec, VolumeFlag } from './run-spec.js';

/** The side doors resolution needs; `I` is the caller's image type (stage0's PodImage). */
export interface ResolvePodOptions<I extends AppImage> {
  insecure: ReadonlySet<InsecureOption>;
  /** The caller's environment (--inherit-env). */
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a --set-env-file. */
  readFile: (path: string) => string;
  readImageFile: (img: I, relPath: string) => string | null;
  statImageFile: (img: I, relPath: string) => { uid: number; gid: number } | null;
  warn: (msg: string) => void;
}

/** appc spec version of the pod manifests stage0 writes (src/version.ts's POD_MANIFEST_AC_VERSION; stage0 may not import it). */
export const POD_MANIFEST_AC_VERSION = '0.8.11';

/** appc's volume object: the same fields as `--volume`. */
export type PodManifestVolume = VolumeFlag;

export interface PodManifestApp {
  name: string;
  image: { id: string; name: string; labels: Label[] };
  app: App;
  readOnlyRootFS: boolean;
  mounts: Array<{ volume: string; path: string }>;
  annotations: Annotation[];
}

/** The reified appc pod manifest stage0 writes as `pod`: every app by image ID, every mount point satisfied. */
export interface PodManifestJson {
  acKind: 'PodManifest';
  acVersion: string;
  apps: PodManifestApp[];
  volumes: PodManifestVolume[];
  isolators: unknown[];
  annotations: Annotation[];
  ports: unknown[];
  userAnnotations: Record<string, string>;
  userLabels: Record<string, string>;
}

export interface ResolvedPod {
  apps: AppRuntime[];
  volumes: PodVolume[];
  manifest: PodManifestJson;
}

/** rkt: the app name defaults to the image name's last path segment, made an AC Name (`example.com/capsule/probe` → `probe`). */
export function appNameFromImage(imageName: string): string {
  const last = imageName.split('/').filter(Boolean).pop() ?? '';
  const s = last.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
  if (s === '') throw new CapsuleError('invalid-name', `cannot derive an app name from image name ${JSON.stringify(imageName)}; use --name`);
  return s;
}

/** --volume / pod-manifest volume with the defaults filled in; `recursive` defaults by flavour (rkt: coreos yes, fly no). */
export function podVolume(v: VolumeFlag, flavour: Stage1Flavour): PodVolume {
  return {
    name: v.name,
    kind: v.kind,
    ...(v.source !== undefined ? { source: v.source } : {}),
    readOnly: v.readOnly ?? false,
    recursive: v.kind === 'host' ? (v.recursive ?? flavour === 'nspawn') : false,
    mode: v.mode ?? '0755',
    uid: v.uid ?? 0,
    gid: v.gid ?? 0,
  };
}

function manifestVolume(v: PodVolume): PodManifestVolume {
  return v.kind === 'host'
    ? { name: v.name, kind: 'host', source: v.source ?? '', readOnly: v.readOnly, recursive: v.recursive }
    : { name: v.name, kind: 'empty', readOnly: v.readOnly, mode: v.mode, uid: v.uid, gid: v.gid };
}

function uniqueVolumes(vols: PodVolume[]): PodVolume[] {
  const seen = new Set<string>();
  for (const v of vols) {
    if (seen.has(v.name)) throw new CapsuleError('invalid-volume', `duplicate volume name ${JSON.stringify(v.name)}`);
    seen.add(v.name);
  }
  return vols;
}

function readEnvFiles(files: readonly string[], readFile: (p: string) => string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFile(f);
    } catch (e) {
      throw new CapsuleError('env-file', `reading --set-env-file ${JSON.stringify(f)}`, { cause: e });
    }
    for (const [k, v] of parseEnvFile(text, f)) {
      if (out.some(([x]) => x === k)) throw new UsageError(`environment variable ${JSON.stringify(k)} already set (file ${JSON.stringify(f)})`);
      out.push([k, v]);
    }
  }
  return out;
}

function podManifest(apps: PodManifestApp[], volumes: PodVolume[], extra: Partial<Pick<PodManifestJson, 'isolators' | 'annotations' | 'ports' | 'userAnnotations' | 'userLabels'>> = {}): PodManifestJson {
  return {
    acKind: 'PodManifest',
    acVersion: POD_MANIFEST_AC_VERSION,
    apps,
    volumes: volumes.map(manifestVolume),
    isolators: extra.isolators ?? [],
    annotations: extra.annotations ?? [],
    ports: extra.ports ?? [],
    userAnnotations: extra.userAnnotations ?? {},
    userLabels: extra.userLabels ?? {},
  };
}

function manifestApp(r: ResolvedApp, img: AppImage, readOnlyRootFS: boolean, annotations: Annotation[]): PodManifestApp {
  return {
    name: r.runtime.name,
    image: { id: img.id, name: img.name, labels: img.manifest.labels ?? [] },
    app: r.app,
    readOnlyRootFS,
    mounts: r.mounts,
    annotations,
  };
}

/**
 * The pod from `run`/`prepare` flags: `images[i]` is the image of `spec.apps[i]`. Names each app
 * (default: the image name's last segment; duplicates rejected), reads the --set-env-file(s),
 * resolves every app and assembles the reified pod manifest.
 */
export function resolvePod<I extends AppImage>(spec: RunSpec, images: readonly I[], o: ResolvePodOptions<I>): ResolvedPod {
  if (spec.pod.podManifest !== undefined) throw new CapsuleError('pod-manifest', 'a --pod-manifest pod is resolved by resolvePodManifest');
  if (images.length !== spec.apps.length) throw new CapsuleError('internal', `resolvePod: ${spec.apps.length} apps but ${images.length} images`);
  const flavour = spec.pod.stage1 ?? 'nspawn';
  const names: string[] = [];
  spec.apps.forEach((a, i) => {
    const name = a.name ?? appNameFromImage(images[i]?.name ?? '');
    if (names.includes(name)) throw new UsageError(`multiple apps with name ${name}`);
    names.push(name);
  });
  const envFromFile = readEnvFiles(spec.pod.setEnvFiles, o.readFile);
  const volumes = spec.pod.volumes.map((v) => podVolume(v, flavour));
  const apps: AppRuntime[] = [];
  const manifestApps: PodManifestApp[] = [];
  spec.apps.forEach((a, i) => {
    const img = images[i] as I;
    const r = resolveApp({
      spec: a,
      pod: spec.pod,
      image: img,
      name: names[i] ?? '',
      volumes: spec.pod.volumes,
      insecure: o.insecure,
      callerEnv: o.env,
      envFromFile,
      readImageFile: (p) => o.readImageFile(img, p),
      statImageFile: (p) => o.statImageFile(img, p),
      warn: o.warn,
    });
    apps.push(r.runtime);
    volumes.push(...r.implicitVolumes);
    manifestApps.push(manifestApp(r, img, a.readOnlyRootfs ?? false, Object.entries(a.annotations).map(([name, value]) => ({ name, value }))));
  });
  uniqueVolumes(volumes);
  return { apps, volumes, manifest: podManifest(manifestApps, volumes) };
}

// ---- --pod-manifest ----

export interface UntrustedPodManifestApp {
  name: string;
  /** `sha512-…` (an ACI) or `sha256:…` (an OCI image's config digest) as written (a prefix is looked up in the store). */
  imageId: string;
  /** Replaces the image's app object wholesale. */
  app?: App;
  readOnlyRootFS: boolean;
  mounts: MountFlag[];
  annotations: Annotation[];
}

/** A user's pod manifest (`--pod-manifest FILE`), structurally checked but not yet tied to images. */
export interface UntrustedPodManifest {
  apps: UntrustedPodManifestApp[];
  volumes: VolumeFlag[];
  isolators: unknown[];
  annotations: Annotation[];
  ports: unknown[];
  userAnnotations: Record<string, string>;
  userLabels: Record<string, string>;
}

const bad = (field: string, why: string): CapsuleError => new CapsuleError('invalid-pod-manifest', `pod manifest: ${field}: ${why}`);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function list(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(field, 'must be a list');
  return v;
}

function strMap(v: unknown, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw bad(field, 'must be an object');
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw bad(`${field}.${k}`, 'must be a string');
  return { ...(v as Record<string, string>) };
}

function annotations(v: unknown, field: string): Annotation[] {
  const seen = new Set<string>();
  return list(v, field).map((a, i) => {
    if (!isObj(a) || typeof a.name !== 'string' || typeof a.value !== 'string') throw bad(`${field}[${i}]`, 'must be {name, value} strings');
    const name = parseAcIdentifier(a.name, `pod manifest: ${field}[${i}].name`);
    if (seen.has(name)) throw bad(field, `duplicate annotations of name ${JSON.stringify(name)}`);
    seen.add(name);
    return { name, value: a.value };
  });
}

function appPath(v: unknown, field: string): string {
  if (typeof v !== 'string' || !v.startsWith('/') || v.split('/').includes('..') || v.includes('\0')) throw bad(field, 'must be an absolute path without ".." segments');
  return v.length > 1 && v.endsWith('/') ? v.slice(0, -1) : v;
}

function volumeFromJson(v: unknown, field: string): VolumeFlag {
  if (!isObj(v)) throw bad(field, 'must be an object');
  if (typeof v.name !== 'string') throw bad(`${field}.name`, 'must be a string');
  const name = parseAcName(v.name, `pod manifest: ${field}.name`);
  if (v.kind !== 'host' && v.kind !== 'empty') throw bad(field, 'unrecognized volume kind: should be one of "empty", "host"');
  const out: VolumeFlag = { name, kind: v.kind };
  const boolKey = (k: 'readOnly' | 'recursive'): void => {
    if (v[k] === undefined || v[k] === null) return;
    if (typeof v[k] !== 'boolean') throw bad(`${field}.${k}`, 'must be true or false');
    out[k] = v[k];
  };
  boolKey('readOnly');
  if (v.kind === 'host') {
    if (typeof v.source !== 'string' || v.source === '') throw bad(field, 'source for host volume cannot be empty');
    if (!v.source.startsWith('/') || v.source.includes('\0')) throw bad(field, 'source for host volume must be absolute path');
    out.source = v.source;
    for (const k of ['mode', 'uid', 'gid']) if (v[k] !== undefined && v[k] !== null) throw bad(field, `${k} for host volume cannot be set`);
    boolKey('recursive');
  } else {
    if (v.source !== undefined && v.source !== '' && v.source !== null) throw bad(field, 'source for empty volume must be empty');
    if (v.recursive !== undefined && v.recursive !== null) throw bad(field, 'recursive for empty volume cannot be set');
    if (v.mode !== undefined && v.mode !== null) {
      if (typeof v.mode !== 'string') throw bad(`${field}.mode`, `invalid mode ${JSON.stringify(v.mode)}`);
      const problem = volumeModeProblem(v.mode);
      if (problem !== undefined) throw bad(`${field}.mode`, problem);
      out.mode = v.mode;
    }
    for (const k of ['uid', 'gid'] as const) {
      const n = v[k];
      if (n === undefined || n === null) continue;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 4294967294) throw bad(`${field}.${k}`, `invalid ${k} ${JSON.stringify(n)}`);
      out[k] = n;
    }
  }
  return out;
}

/**
 * Reads a `--pod-manifest` file's text. rkt's errors for the cases users meet: `pod must contain
 * at least one application`, `no image ID for app "x"`.
 */
export function parsePodManifest(text: string): UntrustedPodManifest {
  const v = parseStrictManifestJson(text, 'pod manifest');
  if (!isObj(v)) throw new CapsuleError('invalid-pod-manifest', 'pod manifest: must be an object');
  if (v.acKind !== 'PodManifest') throw new CapsuleError('invalid-pod-manifest', 'pod manifest: missing or bad ACKind (must be "PodManifest")');
  if (typeof v.acVersion !== 'string' || v.acVersion === '') throw bad('acVersion', 'acVersion must be set');
  const rawApps = list(v.apps, 'apps');
  if (rawApps.length === 0) throw new CapsuleError('invalid-pod-manifest', 'pod must contain at least one application');
  const volumes = list(v.volumes, 'volumes').map((x, i) => volumeFromJson(x, `volumes[${i}]`));
  const apps = rawApps.map((a, i): UntrustedPodManifestApp => {
    const f = `apps[${i}]`;
    if (!isObj(a)) throw bad(f, 'must be an object');
    if (typeof a.name !== 'string') throw bad(`${f}.name`, 'must be a string');
    const name = parseAcName(a.name, `pod manifest: ${f}.name`);
    const image = isObj(a.image) ? a.image : {};
    if (image.id === undefined || image.id === null || image.id === '') throw new CapsuleError('invalid-pod-manifest', `no image ID for app ${JSON.stringify(name)}`);
    if (typeof image.id !== 'string' || !/^(?:sha512-[0-9a-f]+|sha256:[0-9a-f]+)$/.test(image.id)) throw bad(`${f}.image.id`, `badly formatted image ID ${JSON.stringify(image.id)}`);
    const out: UntrustedPodManifestApp = { name, imageId: image.id, readOnlyRootFS: false, mounts: [], annotations: annotations(a.annotations, `${f}.annotations`) };
    if (a.app !== undefined && a.app !== null) {
      try {
        const m = validateImageManifest({ acKind: 'ImageManifest', acVersion: POD_MANIFEST_AC_VERSION, name: 'pod-manifest/app', app: a.app });
        if (m.app) out.app = m.app;
      } catch (e) {
        throw new CapsuleError('invalid-pod-manifest', `pod manifest: ${f}.${(e as Error).message}`);
      }
    }
    if (a.readOnlyRootFS !== undefined && a.readOnlyRootFS !== null) {
      if (typeof a.readOnlyRootFS !== 'boolean') throw bad(`${f}.readOnlyRootFS`, 'must be true or false');
      out.readOnlyRootFS = a.readOnlyRootFS;
    }
    out.mounts = list(a.mounts, `${f}.mounts`).map((m, j) => {
      const mf = `${f}.mounts[${j}]`;
      if (!isObj(m)) throw bad(mf, 'must be an object');
      if (typeof m.volume !== 'string') throw bad(`${mf}.volume`, 'must be a string');
      const volume = parseAcName(m.volume, `pod manifest: ${mf}.volume`);
      if (m.appVolume !== undefined && m.appVolume !== null) {
        // An inline volume: joins the pod's volumes (a clash with another of that name is an error).
        const av = volumeFromJson(m.appVolume, `${mf}.appVolume`);
        if (av.name !== volume) throw bad(`${mf}.appVolume`, `name ${JSON.stringify(av.name)} differs from the mount's volume ${JSON.stringify(volume)}`);
        volumes.push(av);
      }
      return { volume, path: appPath(m.path, `${mf}.path`) };
    });
    return out;
  });
  const seenApps = new Set<string>();
  for (const a of apps) {
    if (seenApps.has(a.name)) throw new CapsuleError('invalid-pod-manifest', `multiple apps with same name ${a.name}`);
    seenApps.add(a.name);
  }
  const seenVols = new Set<string>();
  for (const vol of volumes) {
    if (seenVols.has(vol.name)) throw new CapsuleError('invalid-pod-manifest', `duplicate volume name ${JSON.stringify(vol.name)}`);
    seenVols.add(vol.name);
  }
  return {
    apps,
    volumes,
    isolators: list(v.isolators, 'isolators'),
    annotations: annotations(v.annotations, 'annotations'),
    ports: list(v.ports, 'ports'),
    userAnnotations: strMap(v.userAnnotations, 'userAnnotations'),
    userLabels: strMap(v.userLabels, 'userLabels'),
  };
}

/**
 * The pod from a `--pod-manifest`: `images[i]` is the stored image of `pm.apps[i]` (looked up by
 * `pm.apps[i].imageId`). An app's `app` object replaces its image's; only the pod flags that
 * apply with --pod-manifest (stage1, overlay, networking, interactive) come from `spec`.
 */
export function resolvePodManifest<I extends AppImage>(pm: UntrustedPodManifest, spec: RunSpec, images: readonly I[], o: ResolvePodOptions<I>): ResolvedPod {
  if (images.length !== pm.apps.length) throw new CapsuleError('internal', `resolvePodManifest: ${pm.apps.length} apps but ${images.length} images`);
  if (spec.pod.interactive && pm.apps.length > 1) throw new UsageError('interactive option only supports pods with one app');
  const flavour = spec.pod.stage1 ?? 'nspawn';
  for (const x of pm.isolators) {
    const name = isObj(x) && typeof x.name === 'string' ? x.name : '?';
    o.warn(`isolator ${JSON.stringify(name)} is not supported and was ignored`);
  }
  const volumes = pm.volumes.map((v) => podVolume(v, flavour));
  const apps: AppRuntime[] = [];
  const manifestApps: PodManifestApp[] = [];
  pm.apps.forEach((a, i) => {
    const img = images[i] as I;
    if (!a.app && !img.manifest.app) throw new CapsuleError('no-app', 'no app section in the pod manifest or the image manifest');
    const appSpec: AppSpec = { image: img.id, args: [], environment: [], mounts: a.mounts, userAnnotations: {}, userLabels: {}, annotations: {}, readOnlyRootfs: a.readOnlyRootFS };
    const r = resolveApp({
      spec: appSpec,
      pod: { inheritEnv: false, setEnv: [], mounts: [] },
      image: img,
      name: a.name,
      volumes: pm.volumes,
      insecure: o.insecure,
      callerEnv: o.env,
      envFromFile: [],
      readImageFile: (p) => o.readImageFile(img, p),
      statImageFile: (p) => o.statImageFile(img, p),
      warn: o.warn,
      ...(a.app ? { appOverride: a.app } : {}),
    });
    apps.push(r.runtime);
    volumes.push(...r.implicitVolumes);
    manifestApps.push(manifestApp(r, img, a.readOnlyRootFS, a.annotations));
  });
  uniqueVolumes(volumes);
  return {
    apps,
    volumes,
    manifest: podManifest(manifestApps, volumes, { isolators: pm.isolators, annotations: pm.annotations, ports: pm.ports, userAnnotations: pm.userAnnotations, userLabels: pm.userLabels }),
  };
}
