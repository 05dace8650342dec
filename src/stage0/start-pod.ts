import fs from 'node:fs';
import path from 'node:path';
import type { GlobalOptions } from '../config/global-options.js';
import { CapsuleError, UsageError } from '../errors/capsule-error.js';
import { decodeManifestBytes } from '../spec/json-limits.js';
import { Store } from '../store/store.js';
import { STAGE1_INTERFACE_VERSION, type PodRuntime, type RunOptions, type Stage1, type Stage1Env, type Stage1Flavour } from '../stage1/contract.js';
import { RemoteSession } from './remote-session.js';
import type { FetchHooks } from './fetch-types.js';
import { writeHandover } from './handover.js';
import { allocateUidRange } from './pod/uid-range.js';
import { createPod, findPod, openPreparedForRun, readPodRuntime } from './pod/pod.js';
import { loadPodImage, readImageFile, statImageFile, type PodImage } from './pod-images.js';
import { writePodFiles } from './pod-files.js';
import { dnsOptions, hostsOptions, parsePortFlag, resolvePorts, type PortRequest } from './run-args/net-flags.js';
import { createPin } from '../store/pins.js';
import { testPause } from '../sys/crash-point.js';
import { parseRunArgs } from './run-args/parse-run-args.js';
import { parsePodManifest, resolvePod, resolvePodManifest } from './run-args/resolve-pod.js';
import { stopGraceMs } from './run-args/stop-grace.js';
import { checkMdsRegister } from './mds-check.js';
import { recordMdsAddresses, registerPod } from './mds-register.js';

/** The flavours, handed in by the CLI (stage0 never imports one). */
export interface Flavours {
  stage1For(flavour: Stage1Flavour): Stage1;
  stage1Env(g: GlobalOptions, podDir: string, env: NodeJS.ProcessEnv): Stage1Env;
}

export interface StartPodOptions extends Flavours {
  kind: 'run' | 'prepare';
  argv: string[];
  globals: GlobalOptions;
  runtimeDir: string;
  env: NodeJS.ProcessEnv;
  hooks: FetchHooks;
  inheritedLock: { fd: number; pendingPath: string } | undefined;
}

/**
 * `run` and `prepare`: images fetched and rendered, the pod created (locked) and prepared. `run`
 * then moves it to run/ and writes the handover to stage1; `prepare` leaves it prepared.
 */
export async function startPod(o: StartPodOptions): Promise<{ uuid: string }> {
  const g = o.globals;
  const spec = parseRunArgs(o.argv, o.kind, (m) => o.hooks.warn(m));
  if (spec.pod.privateUsers && spec.pod.stage1 === 'fly') throw new UsageError('--private-users: the fly flavour runs apps with the caller\'s own ids, without a user namespace');
  if (o.kind === 'run' && !o.inheritedLock) throw new CapsuleError('handover', 'run must be started through bin/capsule (no pod lock descriptor was passed)');
  // prepare has no --net: the net is run-prepared's, checked there again.
  if (spec.pod.mdsRegister && spec.pod.stage1 === 'fly') throw new UsageError('--mds-register: the fly flavour shares the host\'s network, where the metadata service cannot tell the pod from the host');
  const mdsService = spec.pod.mdsRegister ? checkMdsRegister(g.dir, o.kind === 'run' ? spec.pod.net : undefined) : undefined;
  const store = Store.open(g.dir, true);
  const remote = new RemoteSession(g, o.hooks);
  // Held until the pod's runtime.json names its trees (src/store/pins.ts).
  const pin = await createPin(store);
  try {
    const images: PodImage[] = [];
    const pm = spec.pod.podManifest === undefined ? undefined : parsePodManifest(readText(spec.pod.podManifest, '--pod-manifest'));
    if (pm) for (const app of pm.apps) images.push(await loadPodImage(store, app.imageId, undefined, 'never', g, o.hooks, remote, pin));
    else for (const app of spec.apps) images.push(await loadPodImage(store, app.image, app.signature, spec.pod.pullPolicy, g, o.hooks, remote, pin, spec.pod.platform));
    const resolveOptions = {
      insecure: g.insecure,
      env: o.env,
      readFile: (p: string) => fs.readFileSync(p, 'utf8'),
      readImageFile: (img: PodImage, rel: string) => readImageFile(img.rootfs, rel),
      statImageFile: (img: PodImage, rel: string) => statImageFile(img.rootfs, rel),
      warn: (m: string) => o.hooks.warn(m),
    };
    const resolved = pm ? resolvePodManifest(pm, spec, images, resolveOptions) : resolvePod(spec, images, resolveOptions);
    const flavour = spec.pod.stage1 ?? 'nspawn';
    const grace = stopGraceMs(resolved.manifest.annotations);
    const portReqs = pm ? pm.ports.map(podManifestPort) : spec.pod.ports.map(parsePortFlag);
    const ports = resolvePorts(portReqs, images.map((i) => i.manifest.app?.ports ?? []));
    if (ports.length > 0) resolved.manifest.ports = ports.map((p) => ({ name: p.name, hostPort: p.hostPort, ...(p.hostIP !== undefined ? { hostIP: p.hostIP } : {}) }));
    const run: RunOptions = {
      uuid: '',
      ...(g.debug ? { debug: true } : {}),
      ...(spec.pod.net !== undefined ? { net: spec.pod.net } : {}),
      dns: dnsOptions(spec.pod),
      hosts: hostsOptions(spec.pod),
      ...(spec.pod.interactive ? { interactive: true } : {}),
      ...(spec.pod.hostname !== undefined ? { hostname: spec.pod.hostname } : {}),
      ...(spec.pod.ipc !== undefined ? { ipc: spec.pod.ipc } : {}),
    };
    if (o.kind === 'run') o.stage1For(flavour).check(run, resolved.apps.length, ports.length > 0, o.stage1Env(g, '', o.env).net);
    else if (flavour === 'fly') o.stage1For(flavour).check({ uuid: '' }, resolved.apps.length, ports.length > 0);
    const pod = await createPod({ dataDir: g.dir, runtimeDir: o.runtimeDir, ...(o.inheritedLock ? { inheritedLock: o.inheritedLock } : {}) });
    if (spec.pod.uuidFileSave) fs.writeFileSync(path.resolve(spec.pod.uuidFileSave), `${pod.uuid}\n`);
    const runtime: PodRuntime = {
      interfaceVersion: STAGE1_INTERFACE_VERSION,
      flavour,
      uuid: pod.uuid,
      apps: resolved.apps,
      volumes: resolved.volumes,
      overlay: !spec.pod.noOverlay,
      unmaskedPaths: g.insecure.has('paths'),
      ...(grace !== undefined ? { stopGraceMs: grace } : {}),
      ...(ports.length > 0 ? { ports } : {}),
      ...(spec.pod.privateUsers ? { privateUsers: allocateUidRange(g.dir, pod.uuid) } : {}),
    };
    testPause('pod-images-pinned');
    // Registered while we hold the pod's lock (gc removes the registration with the pod).
    if (mdsService) runtime.mds = registerPod(g.dir, mdsService, pod.uuid, resolved.manifest, resolved.apps, images);
    writePodFiles(pod.dir, store.layout.treeDir, resolved.manifest, runtime);
    if (o.kind === 'prepare') {
      pod.toPrepared();
      pod.releaseLock();
      return { uuid: pod.uuid };
    }
    pod.toRun();
    const h = await o.stage1For(flavour).run({ ...o.stage1Env(g, pod.dir, o.env), warn: (m) => o.hooks.warn(m) }, runtime, { ...run, uuid: pod.uuid });
    if (runtime.mds) recordMdsAddresses(g.dir, pod.uuid, pod.dir);
    writeHandover(h, o.env);
    return { uuid: pod.uuid };
  } finally {
    pin.release();
    await remote.close();
    store.close();
  }
}

/** An appc pod manifest's `ports` entry: `{name, hostPort[, hostIP]}`. */
function podManifestPort(v: unknown): PortRequest {
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const ip = typeof o.hostIP === 'string' && o.hostIP !== '' ? `${o.hostIP}:` : '';
  if (typeof o.name !== 'string' || typeof o.hostPort !== 'number') throw new UsageError(`pod manifest: invalid ports entry ${JSON.stringify(v)} (want {"name": …, "hostPort": …})`);
  return parsePortFlag(`${o.name}:${ip}${o.hostPort}`);
}

function readText(file: string, what: string): string {
  let b: Buffer;
  try {
    b = fs.readFileSync(file);
  } catch (e) {
    throw new CapsuleError('read-file', `reading ${what} ${JSON.stringify(file)}`, { cause: e });
  }
  return decodeManifestBytes(b, `${what} ${JSON.stringify(file)}`);
}

const checkedRuntime = (podDir: string): PodRuntime => readPodRuntime(podDir);

export interface RunPreparedOptions extends Flavours {
  uuidArg: string;
  globals: GlobalOptions;
  runtimeDir: string;
  env: NodeJS.ProcessEnv;
  inheritedLock: { fd: number; pendingPath: string } | undefined;
  opts: Omit<RunOptions, 'uuid'>;
  /** run-prepared --mds-register: the pod must have been prepared with it (its registration is made then). */
  mdsRegister?: boolean;
  /** The command's warning line. */
  warn?: (msg: string) => void;
}

/** `run-prepared`: takes the prepared pod (one winner when racing), moves it to run/, hands over. */
export async function runPrepared(o: RunPreparedOptions): Promise<void> {
  if (!o.inheritedLock) throw new CapsuleError('handover', 'run-prepared must be started through bin/capsule (no pod lock descriptor was passed)');
  // Checked while the pod is still prepared, so a refused run leaves it prepared.
  const found = await findPod(o.globals.dir, o.runtimeDir, o.uuidArg);
  if (found.state === 'prepared') {
    const r = checkedRuntime(found.dir);
    if (o.mdsRegister === true && !r.mds) throw new UsageError('--mds-register: the pod was prepared without it; register it at prepare (prepare --mds-register)');
    if (r.mds) checkMdsRegister(o.globals.dir, o.opts.net);
    if (o.opts.interactive && r.apps.length > 1) throw new UsageError('interactive option only supports pods with one app');
    o.stage1For(r.flavour).check({ uuid: found.uuid, ...o.opts }, r.apps.length, (r.ports ?? []).length > 0, o.stage1Env(o.globals, found.dir, o.env).net);
  }
  const pod = await openPreparedForRun({ dataDir: o.globals.dir, runtimeDir: o.runtimeDir, uuidArg: found.uuid, inheritedLock: o.inheritedLock });
  const runtime = checkedRuntime(pod.dir);
  const h = await o.stage1For(runtime.flavour).run({ ...o.stage1Env(o.globals, pod.dir, o.env), ...(o.warn ? { warn: o.warn } : {}) }, runtime, { uuid: pod.uuid, ...o.opts });
  if (runtime.mds) recordMdsAddresses(o.globals.dir, pod.uuid, pod.dir);
  writeHandover(h, o.env);
}

export interface EnterOptions extends Flavours {
  uuidArg: string;
  app: string | undefined;
  /** Empty: the default command, announced through `noCommand` once the pod is known to run. */
  cmd: string[];
  /** The command gets a fresh pty (enter -t). */
  tty: boolean;
  globals: GlobalOptions;
  runtimeDir: string;
  env: NodeJS.ProcessEnv;
  listApps(apps: string[]): void;
  noCommand(assumed: string): void;
}

/** `enter`: the pod must be running (checked before anything else); the command gets the app's isolation (stage1 `enter`). */
export async function enterPod(o: EnterOptions): Promise<void> {
  const pod = await findPod(o.globals.dir, o.runtimeDir, o.uuidArg);
  if (!(await pod.isRunning())) throw new CapsuleError('pod-not-running', `pod "${pod.uuid}" isn't currently running`);
  const runtime = checkedRuntime(pod.dir);
  let app = o.app;
  if (app === undefined) {
    const [only, ...more] = runtime.apps;
    if (!only) throw new CapsuleError('enter', 'the pod has no apps');
    if (more.length > 0) {
      o.listApps(runtime.apps.map((a) => a.name));
      throw new UsageError('specify app using "capsule enter --app= ..."');
    }
    app = only.name;
  } else if (!runtime.apps.some((a) => a.name === app)) {
    throw new UsageError(`app ${JSON.stringify(app)} not found in pod "${pod.uuid}"`);
  }
  let cmd = o.cmd;
  if (cmd.length === 0) {
    cmd = ['/bin/sh'];
    o.noCommand(cmd[0]!);
  }
  const h = await o.stage1For(runtime.flavour).enter(o.stage1Env(o.globals, pod.dir, o.env), runtime, app, cmd, { tty: o.tty });
  writeHandover(h, o.env);
}
