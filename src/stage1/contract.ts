/**
 * The stage0 ↔ stage1 contract (docs/stage1-contract.md). stage0 and the flavours meet only here.
 * Pure data: names, versions, the resolved pod runtime and argument building; no side effects.
 */
export const STAGE1_INTERFACE_VERSION = 1;

export type Stage1Flavour = 'nspawn' | 'fly';
export const STAGE1_FLAVOURS: readonly Stage1Flavour[] = ['nspawn', 'fly'];

export type Entrypoint = 'run' | 'enter' | 'stop' | 'gc';

/** Files in a pod directory, relative to it. */
export const POD_FILES = {
  manifest: 'pod',
  created: 'pod-created',
  runtime: 'runtime.json',
  ppid: 'ppid',
  pid: 'pid',
  netInfo: 'net-info.json',
  stage1Dir: 'stage1',
  plan: 'stage1/plan',
  stage1Root: 'stage1/rootfs',
  volumes: 'volumes',
  volume: (name: string) => `volumes/${name}`,
  appDir: (app: string) => `apps/${app}`,
  /** --no-overlay: a private copy of the app's tree. */
  appRootfs: (app: string) => `apps/${app}/rootfs`,
  appUpper: (app: string) => `apps/${app}/upper`,
  appWork: (app: string) => `apps/${app}/work`,
  statusDir: 'status',
  appStatus: (app: string) => `status/${app}`,
  appStarted: (app: string) => `status/${app}.started`,
  logsDir: 'logs',
  appLog: (app: string) => `logs/${app}.log`,
  /** One line `<offset> <sec>.<nsec>` per chunk appended to the log: when it was written. */
  appLogTimes: (app: string) => `logs/${app}.times`,
} as const;

/** seccomp for one app. `retain`: only `syscalls` allowed; `remove`: `syscalls` blocked. */
export interface SeccompPlan {
  mode: 'retain' | 'remove';
  /** Plain syscall names; groups (`@…`) are already expanded by stage0. */
  syscalls: string[];
  /** Errno name returned by blocked calls (`EPERM`); null kills the app with SIGSYS. */
  errno: string | null;
}

export interface AppMount {
  volume: string;
  /** Absolute path inside the app's rootfs. */
  path: string;
  readOnly: boolean;
}

/** One app, fully resolved by stage0: the flavour applies it, it never re-derives it. */
export interface AppRuntime {
  name: string;
  image: { id: string; name: string; treeId: string };
  /** argv; argv[0] absolute, or looked up in the app's PATH by stage1. */
  exec: string[];
  /** Final environment in order, precedence already applied. */
  env: Array<[string, string]>;
  uid: number;
  gid: number;
  supplementaryGids: number[];
  workingDirectory: string;
  readOnlyRootfs: boolean;
  /** Capability bounding set (CAP_* names), or 'all' with --insecure-options=capabilities. */
  capabilities: string[] | 'all';
  noNewPrivileges: boolean;
  /** null: no filter (--insecure-options=seccomp). */
  seccomp: SeccompPlan | null;
  memoryLimit: number | null;
  /** CPU limit in milli-cores (500 = half a core). */
  cpuMilli: number | null;
  cpuShares: number | null;
  oomScoreAdj: number | null;
  mounts: AppMount[];
  /** The image annotates appc.io/executor/supports-systemd-notify=true. */
  supportsNotify: boolean;
  /** The app's `pre-start` event handler (argv), run as root before the app; absent: none. */
  preStart?: string[];
  /** The app's `post-stop` event handler (argv), run as root after the app ended; absent: none. */
  postStop?: string[];
  /** Signal number the app is stopped with (an OCI image's StopSignal); absent: SIGTERM. */
  stopSignal?: number;
}

export interface PodVolume {
  name: string;
  kind: 'host' | 'empty';
  /** host: absolute source path. */
  source?: string;
  readOnly: boolean;
  recursive: boolean;
  /** empty: mode (octal string), owner. */
  mode: string;
  uid: number;
  gid: number;
  /**
   * An implicit empty volume (an image mount point no volume was given for): stage0 fills it with
   * the app's image content at `path` (resolved inside its rootfs) and gives it that
   * directory's mode and owner. Explicit `kind=empty` volumes start empty.
   */
  prefill?: { app: string; path: string };
}

/** Everything stage1 needs, written by stage0 as `runtime.json`. */
export interface PodRuntime {
  interfaceVersion: number;
  flavour: Stage1Flavour;
  uuid: string;
  apps: AppRuntime[];
  volumes: PodVolume[];
  /** false with --no-overlay: apps/<app>/rootfs are copies. */
  overlay: boolean;
  /** --insecure-options=paths: no masked or read-only kernel paths. */
  unmaskedPaths: boolean;
  /**
   * After one app failed, how long (ms) the others go on before they get SIGTERM (the pod
   * annotation capsule.io/stop-grace-period); absent: STOP_GRACE_MS of the nspawn flavour.
   */
  stopGraceMs?: number;
  /** `--port` (or the pod manifest's ports), resolved against the apps' image ports. Absent in pods prepared before networking. */
  ports?: PortForward[];
  /**
   * --private-users: the pod runs in its own user namespace, host uids base…base+size-1 being
   * its 0…size-1; the pod's files (app trees, status, logs, empty volumes) are owned shifted.
   */
  privateUsers?: { base: number; size: number };
  /**
   * --mds-register: the pod is registered with the metadata service listening on `port`; stage1
   * gives every app AC_METADATA_URL=http://<host side of the pod's first net>:<port>/<token>.
   */
  mds?: { port: number; token: string };
}

/** A host port forwarded to an app's port (through the CNI portmap plugin). */
export interface PortForward {
  /** The image's port name (`http`, or `80-tcp` for OCI images). */
  name: string;
  protocol: 'tcp' | 'udp';
  containerPort: number;
  hostPort: number;
  /** Only this host address; absent: every address, 127.0.0.1 included. */
  hostIP?: string;
}

/** `--dns`, `--dns-search`, `--dns-opt`, `--dns-domain` (rkt's modes; `default`: nothing said). */
export interface DnsOptions {
  mode: 'default' | 'given' | 'host' | 'none';
  servers: string[];
  search: string[];
  options: string[];
  domain?: string;
}

/** `--hosts-entry` (`host`, or `IP=HOST` entries; `default`: nothing said). */
export interface HostsOptions {
  mode: 'default' | 'given' | 'host';
  entries: Array<[string, string[]]>;
}

/** Options given when the pod starts (run, or run-prepared). */
export interface RunOptions {
  uuid: string;
  debug?: boolean;
  /** Raw `--net` (absent: the default net). */
  net?: string;
  dns?: DnsOptions;
  hosts?: HostsOptions;
  interactive?: boolean;
  hostname?: string;
  ipc?: 'auto' | 'private' | 'parent';
}

/** Paths a flavour needs, all parameters so tests use temp dirs. */
export interface Stage1Env {
  /** The pod directory (pods/run/<uuid> when running). */
  podDir: string;
  /** The store's tree directory (tree/<treeId>/rootfs are the lower layers). */
  treeDir: string;
  /** Directory holding the helper binary `capsule-stage1`. */
  libexecDir: string;
  /** cgroup filesystem root, normally /sys/fs/cgroup. */
  cgroupRoot: string;
  /** The caller's environment (NOTIFY_SOCKET, TERM, INVOCATION_ID). */
  env: Record<string, string | undefined>;
  /** Networking (docs/networking.md); absent: the flavour's defaults under /run/capsule and /etc/capsule. */
  net?: NetEnv;
  /** The command's `<command>: warning: …` line (a pod that runs weaker than promised says so). */
  warn?: (msg: string) => void;
}

/** Where networking finds its configs and plugins and keeps namespaces; parameters so tests use their own. */
export interface NetEnv {
  /** net.d directories, lowest precedence first (`<system-config>/net.d`, `<local-config>/net.d`). */
  confDirs: string[];
  /** Plugin directories in search order (configured paths, then /usr/lib/cni). */
  pluginPath: string[];
  /** Where pod namespaces are bound (`<runtime dir>/netns`). */
  netnsDir: string;
}

/** What the `capsule` wrapper execs after the Node process exits (no resident Node). */
export interface Handover {
  cwd: string;
  argv: string[];
  env: Record<string, string>;
}

export interface EnterOptions {
  tty: boolean;
}

/**
 * A flavour. `run` and `enter` only plan and write files, then return the command the wrapper
 * execs; `stop` and `gc` act directly. All are idempotent where the doc says so.
 */
export interface Stage1 {
  flavour: Stage1Flavour;
  interfaceVersion: number;
  /** Refuses what this flavour cannot run before stage0 creates anything (throws CapsuleError). */
  /** `net` (when given) lets a flavour with CNI nets refuse unknown ones before anything exists. */
  check(o: RunOptions, appCount: number, hasPorts?: boolean, net?: NetEnv): void;
  run(e: Stage1Env, pod: PodRuntime, o: RunOptions): Promise<Handover>;
  /** `tty`: the command gets a fresh pty of the pod's, relayed to the caller's terminal. */
  enter(e: Stage1Env, pod: PodRuntime, app: string, cmd: string[], o: EnterOptions): Promise<Handover>;
  stop(e: Stage1Env, pod: PodRuntime, force: boolean): Promise<void>;
  gc(e: Stage1Env, pod: PodRuntime): Promise<void>;
}

/** The lock a running pod holds (see "The pod lock"). */
export function podLockPath(runtimeDir: string, uuid: string): string {
  return `${runtimeDir}/pods/${uuid}.lock`;
}

/** stage0 refuses flavours that speak a contract version it does not know. */
export function isSupportedInterface(r: { flavour: string; interfaceVersion: number }): boolean {
  return (STAGE1_FLAVOURS as readonly string[]).includes(r.flavour) && r.interfaceVersion === STAGE1_INTERFACE_VERSION;
}
