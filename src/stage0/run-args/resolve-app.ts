import path from 'node:path';
import type { InsecureOption } from '../../config/global-options.js';
import { CapsuleError } from '../../errors/capsule-error.js';
import { DEFAULT_CAPABILITIES, parseCapabilityList, sortCapabilities } from '../../spec/capabilities.js';
import { parseErrno } from '../../spec/errno.js';
import type { App, ImageManifest, MountPoint } from '../../spec/image-manifest.js';
import type { Isolator } from '../../spec/isolators.js';
import { parseQuantity } from '../../spec/quantity.js';
import { APPC_EMPTY, CAPSULE_DEFAULT_BLOCKLIST, CAPSULE_DEFAULT_ERRNO, RETAIN_LIFECYCLE, expandSeccompSet } from '../../spec/seccomp-groups.js';
import type { AppMount, AppRuntime, PodVolume, SeccompPlan } from '../../stage1/contract.js';
import { parseSignal } from '../../spec/signals.js';
import type { OciRunConfig } from '../../store/oci-index.js';
import { resolveImageId, resolveOciUser, type ImageFileReader, type ImageStatReader } from './image-ids.js';
import { refuseImagePrivileges } from './image-privileges.js';
import type { AppSpec, MountFlag, PodFlags, VolumeFlag } from './run-spec.js';

/** An app's image as resolution needs it (stage0's PodImage is one). */
export interface AppImage {
  id: string;
  name: string;
  treeId: string;
  manifest: ImageManifest;
  /** An OCI image's run config (docker's rules for Entrypoint/Cmd, User, StopSignal); absent for ACIs. */
  oci?: OciRunConfig;
}

export interface ResolveAppInput {
  spec: AppSpec;
  pod: Pick<PodFlags, 'inheritEnv' | 'setEnv' | 'mounts'>;
  image: AppImage;
  /** The app's name (already defaulted and checked unique by resolvePod). */
  name: string;
  /** The pod's declared volumes (flags or pod manifest). */
  volumes: readonly VolumeFlag[];
  insecure: ReadonlySet<InsecureOption>;
  /** The caller's environment, used with --inherit-env. */
  callerEnv: Readonly<Record<string, string | undefined>>;
  /** The --set-env-file variables, already read and parsed, in order. */
  envFromFile: ReadonlyArray<readonly [string, string]>;
  readImageFile: ImageFileReader;
  statImageFile: ImageStatReader;
  warn: (msg: string) => void;
  /** A pod manifest's app object: replaces the image's wholesale (appc). */
  appOverride?: App;
}

export interface ResolvedApp {
  runtime: AppRuntime;
  /** rkt: an image mount point with neither a mount nor a same-named volume gets an `empty` volume `<app>-<mountpoint>`. */
  implicitVolumes: PodVolume[];
  /** The effective appc app object (the image's, with the flags applied), for the pod manifest. */
  app: App;
  /** This app's pod-manifest mounts, implicit ones included. */
  mounts: Array<{ volume: string; path: string }>;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The `container` variable every app gets unless it sets its own (appc ace.md). */
export const CONTAINER_ENV = 'capsule';
export const NOTIFY_ANNOTATION = 'appc.io/executor/supports-systemd-notify';

/** The `capsule` wrapper's own handover variables never reach an app through --inherit-env. */
const WRAPPER_VARS = new Set(['CAPSULE_HANDOVER', 'CAPSULE_LOCK_FD', 'CAPSULE_LOCK_PENDING', 'CAPSULE_LOCK_HELD']);

const MEMORY = 'resource/memory';
const CPU = 'resource/cpu';
const CPU_SHARES = 'os/linux/cpu-shares';
const OOM = 'os/linux/oom-score-adj';
const NNP = 'os/linux/no-new-privileges';
const CAPS_RETAIN = 'os/linux/capabilities-retain-set';
const CAPS_REMOVE = 'os/linux/capabilities-remove-set';
const SECCOMP_RETAIN = 'os/linux/seccomp-retain-set';
const SECCOMP_REMOVE = 'os/linux/seccomp-remove-set';
const SUPPORTED = new Set([MEMORY, CPU, CPU_SHARES, OOM, NNP, CAPS_RETAIN, CAPS_REMOVE, SECCOMP_RETAIN, SECCOMP_REMOVE]);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringSet = (v: unknown): string[] => (isObj(v) && Array.isArray(v.set) ? v.set.filter((s): s is string => typeof s === 'string') : []);
const uniq = (xs: readonly string[]): string[] => [...new Set(xs)];

/** A mount-point path normalized like --mount targets, for matching. */
function normPath(p: string): string {
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** CLI flags replace the image's isolators of the same kind (rkt). */
function mergeIsolators(base: readonly Isolator[], s: AppSpec): Isolator[] {
  let iso = [...base];
  const replace = (kinds: string[], add: Isolator): void => {
    iso = [...iso.filter((i) => !kinds.includes(i.name)), add];
  };
  if (s.memory !== undefined) replace([MEMORY], { name: MEMORY, value: { request: String(s.memory), limit: String(s.memory) } });
  if (s.cpuMilli !== undefined) replace([CPU], { name: CPU, value: { request: `${s.cpuMilli}m`, limit: `${s.cpuMilli}m` } });
  if (s.cpuShares !== undefined) replace([CPU_SHARES], { name: CPU_SHARES, value: s.cpuShares });
  if (s.oomScoreAdj !== undefined) replace([OOM], { name: OOM, value: s.oomScoreAdj });
  if (s.capsRetain) replace([CAPS_RETAIN, CAPS_REMOVE], { name: CAPS_RETAIN, value: { set: [...s.capsRetain] } });
  else if (s.capsRemove) replace([CAPS_RETAIN, CAPS_REMOVE], { name: CAPS_REMOVE, value: { set: [...s.capsRemove] } });
  if (s.seccomp) {
    const value: Record<string, unknown> = { set: [...s.seccomp.set] };
    if (s.seccomp.errno !== null) value.errno = s.seccomp.errno;
    replace([SECCOMP_RETAIN, SECCOMP_REMOVE], { name: s.seccomp.mode === 'retain' ? SECCOMP_RETAIN : SECCOMP_REMOVE, value });
  }
  return iso;
}

function capabilities(iso: readonly Isolator[], app: string, insecure: boolean): string[] | 'all' {
  if (insecure) return 'all';
  const retain = iso.filter((i) => i.name === CAPS_RETAIN);
  const remove = iso.filter((i) => i.name === CAPS_REMOVE);
  if (retain.length > 0 && remove.length > 0) {
    throw new CapsuleError('invalid-isolators', `app ${JSON.stringify(app)}: isolators set contains incompatible types (capabilities retain and remove sets)`);
  }
  const caps = (i: Isolator): string[] => {
    try {
      return parseCapabilityList(stringSet(i.value));
    } catch (e) {
      throw new CapsuleError('invalid-isolators', `app ${JSON.stringify(app)}: ${i.name}: ${(e as Error).message}`);
    }
  };
  if (retain.length > 0) return sortCapabilities(uniq(retain.flatMap(caps)));
  const removed = new Set(remove.flatMap(caps));
  return sortCapabilities(DEFAULT_CAPABILITIES.filter((c) => !removed.has(c)));
}

function seccomp(iso: readonly Isolator[], app: string, insecure: boolean): SeccompPlan | null {
  if (insecure) return null;
  const i = iso.filter((x) => x.name === SECCOMP_RETAIN || x.name === SECCOMP_REMOVE).at(-1);
  if (!i) return { mode: 'remove', syscalls: [...CAPSULE_DEFAULT_BLOCKLIST], errno: CAPSULE_DEFAULT_ERRNO };
  const bad = (why: string): CapsuleError => new CapsuleError('invalid-isolators', `app ${JSON.stringify(app)}: ${i.name}: ${why}`);
  const set = stringSet(i.value);
  const rawErrno = isObj(i.value) && typeof i.value.errno === 'string' && i.value.errno !== '' ? i.value.errno : null;
  if (rawErrno !== null) {
    try {
      parseErrno(rawErrno);
    } catch (e) {
      throw bad((e as Error).message);
    }
  }
  let exp;
  try {
    exp = expandSeccompSet(set);
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (i.name === SECCOMP_RETAIN) {
    // @appc.io/all opts out of filtering altogether.
    if (exp.all) return null;
    return { mode: 'retain', syscalls: uniq([...exp.syscalls, ...RETAIN_LIFECYCLE]), errno: rawErrno };
  }
  if (exp.all) throw bad('@appc.io/all is only valid in a retain set');
  // @appc.io/empty: Capsule's defaults (with their errno unless one is given).
  const syscalls = exp.empty ? uniq([...exp.syscalls, ...CAPSULE_DEFAULT_BLOCKLIST]) : exp.syscalls;
  const onlyDefaults = set.every((s) => s === APPC_EMPTY);
  return { mode: 'remove', syscalls, errno: rawErrno ?? (onlyDefaults ? CAPSULE_DEFAULT_ERRNO : null) };
}

function quantityLimit(iso: readonly Isolator[], kind: string, app: string): number | null {
  const i = iso.filter((x) => x.name === kind && isObj(x.value) && x.value.limit !== undefined).at(-1);
  if (!i || !isObj(i.value)) return null;
  try {
    return parseQuantity(i.value.limit, `${kind} limit`);
  } catch (e) {
    throw new CapsuleError('invalid-isolators', `app ${JSON.stringify(app)}: ${(e as Error).message}`);
  }
}

function lastNumber(iso: readonly Isolator[], kind: string): number | null {
  const v = iso.filter((x) => x.name === kind).at(-1)?.value;
  return typeof v === 'number' ? v : null;
}

function noNul(app: string, what: string, s: string): void {
  if (s.includes('\0')) throw new CapsuleError('invalid-app', `app ${JSON.stringify(app)}: ${what} contains a NUL character`);
}

function environment(i: ResolveAppInput, app: App): Map<string, string> {
  const env = new Map<string, string>();
  for (const e of app.environment ?? []) env.set(e.name, e.value);
  if (i.pod.inheritEnv) {
    // Inherited variables never override the image's (rkt).
    for (const [k, v] of Object.entries(i.callerEnv)) if (v !== undefined && !env.has(k) && !WRAPPER_VARS.has(k)) env.set(k, v);
  }
  for (const [k, v] of i.envFromFile) env.set(k, v);
  for (const [k, v] of i.pod.setEnv) env.set(k, v);
  for (const [k, v] of i.spec.environment) env.set(k, v);
  return env;
}

function mounts(i: ResolveAppInput, app: App): Pick<ResolvedApp, 'implicitVolumes' | 'mounts'> & { runtime: AppMount[] } {
  const vols = new Map(i.volumes.map((v) => [v.name, v]));
  const points: MountPoint[] = (app.mountPoints ?? []).map((mp) => ({ ...mp, path: normPath(mp.path) }));
  // The app's own mounts win over pod-wide ones of the same path (rkt's MergeMounts).
  const merged: MountFlag[] = [];
  for (const m of [...i.spec.mounts, ...i.pod.mounts]) if (!merged.some((x) => x.path === m.path)) merged.push(m);
  const runtime: AppMount[] = [];
  const implicitVolumes: PodVolume[] = [];
  for (const m of merged) {
    const v = vols.get(m.volume);
    if (!v) throw new CapsuleError('invalid-mount', `dangling mount point ${JSON.stringify(m.path)}: volume ${JSON.stringify(m.volume)} not found`);
    const mp = points.find((p) => p.path === m.path) ?? points.find((p) => p.name === m.volume);
    runtime.push({ volume: m.volume, path: m.path, readOnly: v.readOnly ?? mp?.readOnly ?? false });
  }
  for (const mp of points) {
    if (runtime.some((m) => m.path === mp.path)) continue;
    const v = vols.get(mp.name);
    if (v) {
      runtime.push({ volume: v.name, path: mp.path, readOnly: v.readOnly ?? mp.readOnly ?? false });
      continue;
    }
    const name = `${i.name}-${mp.name}`;
    i.warn(`no volume specified for mount point ${JSON.stringify(mp.name)}, implicitly creating an "empty" volume. This volume will be removed when the pod is garbage-collected.`);
    // rkt (Docker's volume semantics): it starts with what the image has at that path.
    implicitVolumes.push({ name, kind: 'empty', readOnly: false, recursive: false, mode: '0755', uid: 0, gid: 0, prefill: { app: i.name, path: mp.path } });
    runtime.push({ volume: name, path: mp.path, readOnly: mp.readOnly ?? false });
  }
  return { runtime, implicitVolumes, mounts: runtime.map((m) => ({ volume: m.volume, path: m.path })) };
}

/**
 * One app, fully resolved: the image's app object with the flags applied (rkt's precedence),
 * users and groups looked up in the image, isolators turned into the runtime's limits, the
 * seccomp and capability sets it gets, and its mounts. Pure but for the injected readers.
 */
export function resolveApp(i: ResolveAppInput): ResolvedApp {
  const { spec, name } = i;
  const base = i.appOverride ?? i.image.manifest.app;
  if (!base && spec.exec === undefined) throw new CapsuleError('no-app', `image ${JSON.stringify(i.image.name)} has no app section; use --exec`);
  const app: App = base ? structuredClone(base) : { user: '0', group: '0' };

  // An OCI image (unless a pod manifest gives the app): docker's rules. Arguments after `--`
  // replace Cmd, --exec replaces Entrypoint (and, as docker's --entrypoint, the image's Cmd).
  const oci = i.appOverride ? undefined : i.image.oci;
  const exec = oci
    ? spec.exec !== undefined
      ? [spec.exec, ...spec.args]
      : [...oci.entrypoint, ...(spec.args.length > 0 ? spec.args : oci.cmd)]
    : [...(spec.exec !== undefined ? [spec.exec] : (app.exec ?? [])), ...spec.args];
  if (exec.length === 0) throw new CapsuleError('no-app', oci ? `image ${JSON.stringify(i.image.name)} has neither Entrypoint nor Cmd; use --exec` : `image ${JSON.stringify(i.image.name)} has no exec; use --exec`);
  app.exec = exec;
  let ociIds: ReturnType<typeof resolveOciUser> | undefined;
  if (oci) {
    ociIds = resolveOciUser(oci.user, i.readImageFile);
    app.user = String(ociIds.uid);
    app.group = String(ociIds.gid);
    if (ociIds.supplementaryGids.length > 0) app.supplementaryGIDs = [...ociIds.supplementaryGids];
  }
  if (spec.user !== undefined) app.user = spec.user;
  if (spec.group !== undefined) app.group = spec.group;
  if (spec.supplementaryGids !== undefined) app.supplementaryGIDs = [...spec.supplementaryGids];
  if (spec.workingDir !== undefined) app.workingDirectory = spec.workingDir;
  if (Object.keys(spec.userAnnotations).length > 0) app.userAnnotations = { ...spec.userAnnotations };
  if (Object.keys(spec.userLabels).length > 0) app.userLabels = { ...spec.userLabels };
  const iso = mergeIsolators(app.isolators ?? [], spec);
  if (iso.length > 0) app.isolators = iso;
  // A pod manifest's app is the user's own word; only the image's isolators are requests.
  const fromImage = i.appOverride === undefined;
  const unsupported = uniq(iso.filter((x) => !SUPPORTED.has(x.name)).map((x) => x.name));
  if (!fromImage) for (const x of unsupported) i.warn(`isolator ${JSON.stringify(x)} is not supported and was ignored`);

  const envMap = environment(i, app);
  app.environment = [...envMap].map(([k, v]) => ({ name: k, value: v }));
  envMap.set('AC_APP_NAME', name);
  if (!envMap.has('PATH')) envMap.set('PATH', DEFAULT_PATH);
  // appc: `container` names the executor (nspawn's container=systemd-nspawn reaches only its init).
  if (!envMap.has('container')) envMap.set('container', CONTAINER_ENV);
  const env = [...envMap];
  for (const [k, v] of env) {
    noNul(name, `environment variable ${JSON.stringify(k)}`, `${k}${v}`);
    if (k === '' || k.includes('=')) throw new CapsuleError('invalid-app', `app ${JSON.stringify(name)}: invalid environment variable name ${JSON.stringify(k)}`);
  }
  for (const a of exec) noNul(name, 'exec', a);
  const handler = (n: 'pre-start' | 'post-stop'): string[] | undefined => {
    const h = app.eventHandlers?.find((x) => x.name === n);
    if (!h) return undefined;
    if (h.exec.length === 0) throw new CapsuleError('invalid-app', `app ${JSON.stringify(name)}: the ${n} event handler has an empty exec`);
    for (const a of h.exec) noNul(name, `${n} event handler`, a);
    return [...h.exec];
  };
  const preStart = handler('pre-start');
  const postStop = handler('post-stop');
  const workingDirectory = app.workingDirectory ?? '/';
  noNul(name, 'working directory', workingDirectory);

  const m = mounts(i, app);
  const memory = quantityLimit(iso, MEMORY, name);
  const cpu = quantityLimit(iso, CPU, name);
  const nnp = iso.filter((x) => x.name === NNP).at(-1)?.value;
  const runtime: AppRuntime = {
    name,
    image: { id: i.image.id, name: i.image.name, treeId: i.image.treeId },
    exec,
    env,
    uid: resolveImageId('user', app.user, i.readImageFile, i.statImageFile),
    gid: resolveImageId('group', app.group, i.readImageFile, i.statImageFile),
    supplementaryGids: [...(app.supplementaryGIDs ?? [])],
    workingDirectory,
    readOnlyRootfs: spec.readOnlyRootfs ?? false,
    capabilities: capabilities(iso, name, i.insecure.has('capabilities')),
    noNewPrivileges: nnp === true,
    seccomp: seccomp(iso, name, i.insecure.has('seccomp')),
    memoryLimit: memory === null ? null : Math.round(memory),
    cpuMilli: cpu === null ? null : Math.max(1, Math.round(cpu * 1000)),
    cpuShares: lastNumber(iso, CPU_SHARES),
    oomScoreAdj: lastNumber(iso, OOM),
    mounts: m.runtime,
    supportsNotify: i.image.manifest.annotations?.some((a) => a.name === NOTIFY_ANNOTATION && a.value === 'true') ?? false,
    ...(preStart ? { preStart } : {}),
    ...(postStop ? { postStop } : {}),
    ...(oci?.stopSignal !== undefined ? { stopSignal: parseSignal(oci.stopSignal, `StopSignal of image ${JSON.stringify(i.image.name)}`) } : {}),
  };
  refuseImagePrivileges({
    app: name,
    image: i.image.name,
    capabilities: runtime.capabilities,
    seccomp: runtime.seccomp,
    capsFromImage: fromImage && spec.capsRetain === undefined && spec.capsRemove === undefined,
    seccompFromImage: fromImage && spec.seccomp === undefined,
    unsupported: fromImage ? unsupported : [],
    insecure: i.insecure,
  });
  return { runtime, implicitVolumes: m.implicitVolumes, app, mounts: m.mounts };
}
