import type { Stage1Flavour } from '../../stage1/contract.js';
import type { WantedPlatform } from '../../oci/platform.js';
import type { PullPolicy } from '../pull-policy.js';

/**
 * What `run` / `prepare` were asked to do, as typed: every value is syntax-checked (quantities in
 * base units, names, capabilities, seccomp groups, errno names) but nothing is looked up yet.
 */
export interface RunSpec {
  pod: PodFlags;
  apps: AppSpec[];
}

/** `--volume NAME,kind=host,source=PATH[,readOnly=B][,recursive=B]` or `NAME,kind=empty[,mode=M][,uid=N][,gid=N]`. */
export interface VolumeFlag {
  name: string;
  kind: 'host' | 'empty';
  /** host: absolute host path. */
  source?: string;
  /** Absent: the mount point's readOnly decides (rkt). */
  readOnly?: boolean;
  /** host only; absent: the flavour's default (nspawn recursive, fly not). */
  recursive?: boolean;
  /** empty only: octal string, default "0755". */
  mode?: string;
  uid?: number;
  gid?: number;
}

/** `--mount volume=NAME,target=PATH` (target normalized, absolute). */
export interface MountFlag {
  volume: string;
  path: string;
}

/** `--seccomp mode=retain|remove[,errno=ENAME],syscall|@group,…`, groups not yet expanded. */
export interface SeccompFlag {
  mode: 'retain' | 'remove';
  errno: string | null;
  set: string[];
}

export interface PodFlags {
  volumes: VolumeFlag[];
  /** `--mount` given before any image: applies to every app (an app's own mount of the same path wins). */
  mounts: MountFlag[];
  /** `--set-env K=V` in the order given (a key twice is an error). */
  setEnv: Array<[string, string]>;
  /** `--set-env-file PATH`, repeatable; read and merged by resolvePod. */
  setEnvFiles: string[];
  inheritEnv: boolean;
  hostname?: string;
  interactive: boolean;
  podManifest?: string;
  privateUsers: boolean;
  /** --mds-register: register with the metadata service (src/stage0/mds-check.ts). */
  mdsRegister?: boolean;
  noOverlay: boolean;
  ipc?: 'auto' | 'private' | 'parent';
  /** Raw `--net` value: bare `--net` is `default`; repeated flags are joined with `,`. */
  net?: string;
  dns: string[];
  dnsSearch: string[];
  dnsOpt: string[];
  dnsDomain?: string;
  hostsEntries: string[];
  /** Raw `--port NAME:[HOSTIP:]HOSTPORT` values. */
  ports: string[];
  uuidFileSave?: string;
  pullPolicy: PullPolicy;
  /** `--platform os/arch[/variant]` for OCI images (absent: the host's). */
  platform?: WantedPlatform;
  /** From `--stage1` or one of rkt's `--stage1-*` selectors; absent: the default flavour. */
  stage1?: Stage1Flavour;
  /** prepare: print only the UUID on stdout. */
  quiet: boolean;
}

export interface AppSpec {
  /** The IMAGE argument as typed. */
  image: string;
  /** Arguments after `IMAGE --`, appended to the exec. */
  args: string[];
  /** `--exec`: replaces the image's whole exec. */
  exec?: string;
  signature?: string;
  name?: string;
  user?: string;
  group?: string;
  supplementaryGids?: number[];
  workingDir?: string;
  readOnlyRootfs?: boolean;
  /** `--environment K=V` (a repeated key: the last wins). */
  environment: Array<[string, string]>;
  mounts: MountFlag[];
  /** Bytes. */
  memory?: number;
  /** Milli-cores. */
  cpuMilli?: number;
  cpuShares?: number;
  /** Canonical `CAP_*` names. */
  capsRetain?: string[];
  capsRemove?: string[];
  seccomp?: SeccompFlag;
  oomScoreAdj?: number;
  userAnnotations: Record<string, string>;
  userLabels: Record<string, string>;
  /** `--annotation K=V`: the pod manifest's per-app annotations. */
  annotations: Record<string, string>;
}
