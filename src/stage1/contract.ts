/**
 * The stage0 ↔ stage1 contract (docs/stage1-contract.md). stage0 and the flavours meet only here.
 * Pure data: names, versions and argument building; no side effects.
 */
export const STAGE1_INTERFACE_VERSION = 1;

export type Stage1Flavour = 'nspawn' | 'fly';
export const STAGE1_FLAVOURS: readonly Stage1Flavour[] = ['nspawn', 'fly'];

export type Entrypoint = 'run' | 'enter' | 'stop' | 'gc';

/** Files in a pod directory, relative to it. */
export const POD_FILES = {
  manifest: 'pod',
  created: 'pod-created',
  stage1: 'stage1',
  pid: 'pid',
  netInfo: 'net-info.json',
  appDir: (app: string) => `apps/${app}`,
  appRootfs: (app: string) => `apps/${app}/rootfs`,
  appRuntime: (app: string) => `apps/${app}/app.json`,
  appStatus: (app: string) => `status/${app}`,
  appStarted: (app: string) => `status/${app}.started`,
  appLog: (app: string) => `logs/${app}.log`,
} as const;

/** What stage0 records about the flavour a pod was prepared for. */
export interface Stage1Record {
  flavour: Stage1Flavour;
  interfaceVersion: number;
}

export interface RunOptions {
  uuid: string;
  debug?: boolean;
  net?: string;
  interactive?: boolean;
  hostname?: string;
  disableCapabilitiesRestriction?: boolean;
  disablePaths?: boolean;
  disableSeccomp?: boolean;
  ipc?: 'auto' | 'private' | 'parent';
}

/** The `run` entrypoint's arguments, in the documented order. */
export function runArgs(o: RunOptions): string[] {
  const a = [`--uuid=${o.uuid}`];
  if (o.debug) a.push('--debug');
  if (o.net !== undefined) a.push(`--net=${o.net}`);
  if (o.interactive) a.push('--interactive');
  if (o.hostname !== undefined) a.push(`--hostname=${o.hostname}`);
  if (o.disableCapabilitiesRestriction) a.push('--disable-capabilities-restriction');
  if (o.disablePaths) a.push('--disable-paths');
  if (o.disableSeccomp) a.push('--disable-seccomp');
  if (o.ipc !== undefined) a.push(`--ipc=${o.ipc}`);
  return a;
}

export function enterArgs(uuid: string, app: string, cmd: readonly string[]): string[] {
  return [`--uuid=${uuid}`, `--app=${app}`, '--', ...cmd];
}

export function stopArgs(uuid: string, force: boolean): string[] {
  return force ? [`--uuid=${uuid}`, '--force'] : [`--uuid=${uuid}`];
}

export function gcArgs(uuid: string, debug: boolean): string[] {
  return debug ? [`--uuid=${uuid}`, '--debug'] : [`--uuid=${uuid}`];
}

/** The lock a running pod holds (see "The pod lock"). */
export function podLockPath(runtimeDir: string, uuid: string): string {
  return `${runtimeDir}/pods/${uuid}.lock`;
}

/** stage0 refuses flavours that speak a contract version it does not know. */
export function isSupportedInterface(r: Stage1Record): boolean {
  return STAGE1_FLAVOURS.includes(r.flavour) && r.interfaceVersion === STAGE1_INTERFACE_VERSION;
}
