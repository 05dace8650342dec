import { UsageError } from '../../errors/capsule-error.js';
import { parseAcIdentifier, parseAcName } from '../../spec/ac-identifier.js';
import { parseCapabilityList } from '../../spec/capabilities.js';
import { parseGoBool } from '../../spec/go-bool.js';
import { parseQuantity } from '../../spec/quantity.js';
import { parsePullPolicy } from '../pull-policy.js';
import { parsePlatform } from '../../oci/platform.js';
import { intIn, keyValue, MAX_ID, MIN_MEMORY_LIMIT, parseMountFlag, parseSeccompFlag, parseVolumeFlag, stage1FlavourOf, usage } from './flag-values.js';
import type { AppSpec, PodFlags } from './run-spec.js';

/**
 * The one table of `run` / `prepare` flags: the argv walker (parse-run-args.ts) reads `kind` and
 * `set`; `--help`, the man pages and shell completion read `help`, `value` and `choices`
 * (src/cli/help-model.ts). A new flag needs a help line here and nowhere else.
 */

/** `bool`: bare means true, `--f=BOOL` (Go spellings); `value`: `--f V` or `--f=V`; `optional`: bare means `bare`, else `--f=V`. */
export type FlagKind = 'bool' | 'value' | 'optional';

/** What the walker accumulates while it reads argv. */
export interface FlagState {
  pod: PodFlags;
  apps: AppSpec[];
  stage1Flag?: string;
  storeOnly: boolean;
  noStore: boolean;
  pullPolicyGiven: boolean;
}

interface FlagDoc {
  kind: FlagKind;
  /** One line for --help, the man page and completion. */
  help: string;
  /** The value's name in help (`NAME,kind=host|empty,…`); bool flags have none. */
  value?: string;
  /** Fixed values, for completion. */
  choices?: readonly string[];
  /** Kept for rkt's scripts, not shown first: the replacement to use instead. */
  deprecated?: string;
  /** optional kind: the value of the bare flag. */
  bare?: string;
}

export interface PodFlagDef extends FlagDoc {
  scope: 'pod';
  /** Accepted by one command only. */
  only?: 'run' | 'prepare';
  set(st: FlagState, v: string, flag: string): void;
}

export interface AppFlagDef extends FlagDoc {
  scope: 'app';
  set(app: AppSpec, v: string, flag: string): void;
}

export type RunFlagDef = PodFlagDef | AppFlagDef;

export const bool = (v: string, flag: string): boolean => {
  const b = parseGoBool(v);
  if (b === undefined) throw new UsageError(`invalid boolean value ${JSON.stringify(v)} for ${flag} (want true or false)`);
  return b;
};

const stage1Flag = (help: string, value: string): PodFlagDef => ({
  scope: 'pod',
  kind: 'value',
  help,
  value,
  set(st, v, flag) {
    if (st.stage1Flag !== undefined && st.stage1Flag !== flag) throw new UsageError(`flags ${st.stage1Flag} and ${flag} are mutually exclusive`);
    st.stage1Flag = flag;
    st.pod.stage1 = stage1FlavourOf(v, flag);
  },
});

const capsFlag = (which: 'capsRetain' | 'capsRemove', help: string, deprecated?: string): AppFlagDef => ({
  scope: 'app',
  kind: 'value',
  help,
  value: 'CAP_X,CAP_Y',
  ...(deprecated !== undefined ? { deprecated } : {}),
  set(app, v, flag) {
    const caps = usage(() => parseCapabilityList(v.split(',')), flag);
    app[which] = caps;
  },
});

const kvApp = (which: 'userAnnotations' | 'userLabels', help: string): AppFlagDef => ({
  scope: 'app',
  kind: 'value',
  help,
  value: 'KEY=VALUE',
  set(app, v, flag) {
    const [k, val] = keyValue(v, flag);
    app[which][k] = val;
  },
});

export const RUN_FLAGS: Readonly<Record<string, RunFlagDef>> = {
  // ---- pod-level ----
  '--volume': {
    scope: 'pod',
    kind: 'value',
    value: 'NAME,kind=…',
    help: 'a volume for the pod: NAME,kind=host,source=PATH[,readOnly=BOOL][,recursive=BOOL] or NAME,kind=empty[,mode=0755][,uid=N][,gid=N]',
    set(st, v) {
      const vol = parseVolumeFlag(v);
      if (st.pod.volumes.some((x) => x.name === vol.name)) throw new UsageError(`duplicate volume name ${JSON.stringify(vol.name)}`);
      st.pod.volumes.push(vol);
    },
  },
  // Position-sensitive: before any image for every app, after an image for that app.
  '--mount': {
    scope: 'pod',
    kind: 'value',
    value: 'volume=NAME,target=PATH',
    help: 'mount a volume at PATH: before the first image in every app, after an image in that app',
    set(st, v) {
      const m = parseMountFlag(v);
      (st.apps.at(-1)?.mounts ?? st.pod.mounts).push(m);
    },
  },
  '--set-env': {
    scope: 'pod',
    kind: 'value',
    value: 'NAME=VALUE',
    help: "an environment variable for every app (repeatable; over the image's and --set-env-file's)",
    set(st, v, flag) {
      const [k, val] = keyValue(v, flag);
      if (st.pod.setEnv.some(([x]) => x === k)) throw new UsageError(`${flag}: key ${JSON.stringify(k)} already set`);
      st.pod.setEnv.push([k, val]);
    },
  },
  '--set-env-file': { scope: 'pod', kind: 'value', value: 'FILE', help: 'environment variables for every app from FILE (NAME=VALUE lines; # and ; start comments)', set: (st, v) => void st.pod.setEnvFiles.push(v) },
  '--inherit-env': { scope: 'pod', kind: 'bool', help: "apps inherit capsule's environment (never over the image's own variables)", set: (st, v, f) => void (st.pod.inheritEnv = bool(v, f)) },
  '--pod-manifest': { scope: 'pod', kind: 'value', value: 'FILE', help: 'run the pod this pod manifest describes (its images by ID, from the store); no IMAGE arguments', set: (st, v) => void (st.pod.podManifest = v) },
  '--private-users': { scope: 'pod', kind: 'bool', help: 'run the pod in a user namespace with its own 64 Ki UID range, its files chown-shifted (needs --no-overlay; not with fly)', set: (st, v, f) => void (st.pod.privateUsers = bool(v, f)) },
  '--no-overlay': { scope: 'pod', kind: 'bool', help: "give each app a copy of its image's tree instead of an overlayfs mount", set: (st, v, f) => void (st.pod.noOverlay = bool(v, f)) },
  '--pull-policy': {
    scope: 'pod',
    kind: 'value',
    value: 'POLICY',
    choices: ['new', 'update', 'never'],
    help: 'when to fetch images: new (only those not in the store, the default), update (check for newer ones), never (store only)',
    set(st, v) {
      st.pod.pullPolicy = parsePullPolicy(v);
      st.pullPolicyGiven = true;
    },
  },
  '--platform': {
    scope: 'pod',
    kind: 'value',
    value: 'OS/ARCH[/VARIANT]',
    help: "OCI images: the platform to choose from a multi-platform image (podman's flag; default: the host's)",
    set(st, v) {
      st.pod.platform = parsePlatform(v);
    },
  },
  '--store-only': { scope: 'pod', kind: 'bool', deprecated: '--pull-policy=never', help: 'use only images in the store (deprecated: --pull-policy=never)', set: (st, v, f) => void (st.storeOnly = bool(v, f)) },
  '--no-store': { scope: 'pod', kind: 'bool', deprecated: '--pull-policy=update', help: 'fetch images even when they are in the store (deprecated: --pull-policy=update)', set: (st, v, f) => void (st.noStore = bool(v, f)) },
  '--port': { scope: 'pod', kind: 'value', value: 'NAME:[HOSTIP:]HOSTPORT', help: "forward a host port (also on 127.0.0.1) to the app port NAME (an image's port name; OCI images name them like 80-tcp); not with --net=host or none", set: (st, v) => void st.pod.ports.push(v) },
  '--stage1': { ...stage1Flag('the stage1 flavour that runs the pod: nspawn (the default) or fly (one app, chroot only)', 'FLAVOUR'), choices: ['nspawn', 'fly'] },
  '--stage1-name': stage1Flag("rkt's stage1 image name: its last segment picks the flavour (…fly… → fly, …coreos…, …host…, …src… → nspawn)", 'NAME'),
  '--stage1-path': stage1Flag("rkt's stage1 image file: its name picks the flavour, as for --stage1-name", 'PATH'),
  '--stage1-url': stage1Flag("rkt's stage1 image URL: its last path segment picks the flavour, as for --stage1-name", 'URL'),
  '--stage1-hash': stage1Flag('nspawn or fly (rkt took a stage1 image ID here)', 'FLAVOUR'),
  '--stage1-from-dir': stage1Flag("rkt's stage1 image name in its stage1 directory: the name picks the flavour", 'NAME'),
  '--quiet': { scope: 'pod', kind: 'bool', only: 'prepare', help: 'print only the UUID on stdout', set: (st, v, f) => void (st.pod.quiet = bool(v, f)) },
  '--hostname': { scope: 'pod', kind: 'value', only: 'run', value: 'NAME', help: "the pod's hostname (default capsule-UUID)", set: (st, v) => void (st.pod.hostname = v) },
  '--interactive': { scope: 'pod', kind: 'bool', only: 'run', help: "run the pod's one app with capsule's terminal as its stdin, stdout and stderr", set: (st, v, f) => void (st.pod.interactive = bool(v, f)) },
  '--ipc': {
    scope: 'pod',
    kind: 'value',
    only: 'run',
    value: 'MODE',
    choices: ['auto', 'private', 'parent'],
    help: "the pod's IPC namespace: auto (the flavour's default), private or parent (the host's)",
    set(st, v) {
      if (v !== 'auto' && v !== 'private' && v !== 'parent') throw new UsageError(`invalid value ${JSON.stringify(v)} for --ipc (auto, private or parent)`);
      st.pod.ipc = v;
    },
  },
  '--net': {
    scope: 'pod',
    kind: 'optional',
    bare: 'default',
    only: 'run',
    value: 'NET[:ARGS],…',
    help: "the pod's networks, comma-separated: default (the default), default-restricted, host, none, all or nets from net.d (NAME:K=V;K=V passes CNI_ARGS); --stage1=fly always shares the host's network",
    set: (st, v) => void (st.pod.net = st.pod.net === undefined ? v : `${st.pod.net},${v}`),
  },
  '--dns': { scope: 'pod', kind: 'value', only: 'run', value: 'IP|host|none', help: "a name server for the pod's resolv.conf (repeatable; host: the host's resolv.conf, none: no resolv.conf)", set: (st, v) => void st.pod.dns.push(v) },
  '--dns-search': { scope: 'pod', kind: 'value', only: 'run', value: 'DOMAIN', help: "a search domain for the pod's resolv.conf (repeatable)", set: (st, v) => void st.pod.dnsSearch.push(v) },
  '--dns-opt': { scope: 'pod', kind: 'value', only: 'run', value: 'OPTION', help: "an options line entry for the pod's resolv.conf (repeatable)", set: (st, v) => void st.pod.dnsOpt.push(v) },
  '--dns-domain': { scope: 'pod', kind: 'value', only: 'run', value: 'DOMAIN', help: "the domain line of the pod's resolv.conf", set: (st, v) => void (st.pod.dnsDomain = v) },
  '--hosts-entry': { scope: 'pod', kind: 'value', only: 'run', value: 'IP=HOST,…|host', help: "entries for the pod's /etc/hosts, IP=HOST[,IP=HOST] (repeatable; host: the host's /etc/hosts)", set: (st, v) => void st.pod.hostsEntries.push(v) },
  '--uuid-file-save': { scope: 'pod', kind: 'value', only: 'run', value: 'FILE', help: "write the pod's UUID to FILE as soon as the pod exists (for a later rm)", set: (st, v) => void (st.pod.uuidFileSave = v) },
  '--mds-register': {
    scope: 'pod',
    kind: 'bool',
    help: "register the pod with the metadata service; its apps get AC_METADATA_URL (needs 'capsule metadata-service' running and a CNI network)",
    set: (st, v, f) => void (st.pod.mdsRegister = bool(v, f)),
  },

  // ---- per-app ----
  '--signature': {
    scope: 'app',
    kind: 'value',
    value: 'FILE',
    help: "the image's detached signature (default: IMAGE.asc beside an image file, or fetched beside its URL)",
    set(app, v) {
      if (app.signature !== undefined) throw new UsageError('--signature specified multiple times for the same image');
      app.signature = v;
    },
  },
  '--exec': {
    scope: 'app',
    kind: 'value',
    value: 'PATH',
    help: "the program to run instead of the image's exec (absolute, or a name looked up in the app's PATH)",
    set(app, v) {
      if (app.exec !== undefined) throw new UsageError('--exec specified multiple times for the same image');
      if (v === '') throw new UsageError('--exec must not be empty');
      app.exec = v;
    },
  },
  '--name': { scope: 'app', kind: 'value', value: 'NAME', help: "the app's name in the pod (default: the last segment of the image name)", set: (app, v, f) => void (app.name = usage(() => parseAcName(v, f))) },
  '--user': {
    scope: 'app',
    kind: 'value',
    value: 'USER',
    help: "the user the app runs as: a number, a name from the image's /etc/passwd, or a path whose owner is used",
    set(app, v, f) {
      if (v === '') throw new UsageError(`${f} must not be empty`);
      app.user = v;
    },
  },
  '--group': {
    scope: 'app',
    kind: 'value',
    value: 'GROUP',
    help: "the group the app runs as: a number, a name from the image's /etc/group, or a path whose group is used",
    set(app, v, f) {
      if (v === '') throw new UsageError(`${f} must not be empty`);
      app.group = v;
    },
  },
  '--supplementary-gids': {
    scope: 'app',
    kind: 'value',
    value: 'GID,GID',
    help: "the app's supplementary group IDs",
    set(app, v) {
      const gids = v.split(',').map((g) => intIn(g, 0, MAX_ID));
      if (gids.some((g) => g === undefined)) throw new UsageError('--supplementary-gids must be integers');
      app.supplementaryGids = [...(app.supplementaryGids ?? []), ...(gids as number[])];
    },
  },
  '--working-dir': {
    scope: 'app',
    kind: 'value',
    value: 'DIR',
    help: "the app's working directory (absolute)",
    set(app, v) {
      if (!v.startsWith('/')) throw new UsageError('--working-dir must be an absolute path');
      app.workingDir = v;
    },
  },
  '--readonly-rootfs': {
    scope: 'app',
    kind: 'optional',
    bare: 'true',
    value: 'BOOL',
    help: "mount the app's root filesystem read-only (volumes keep their own mode)",
    set(app, v) {
      const b = parseGoBool(v);
      if (b === undefined) throw new UsageError('--readonly-rootfs must be set with a boolean');
      app.readOnlyRootfs = b;
    },
  },
  '--environment': {
    scope: 'app',
    kind: 'value',
    value: 'NAME=VALUE',
    help: 'an environment variable for this app (repeatable; over --set-env)',
    set(app, v, f) {
      const [k, val] = keyValue(v, f);
      const at = app.environment.findIndex(([x]) => x === k);
      if (at >= 0) app.environment[at] = [k, val];
      else app.environment.push([k, val]);
    },
  },
  '--memory': {
    scope: 'app',
    kind: 'value',
    value: 'QUANTITY',
    help: "the app's memory limit (256M, 1Gi, …)",
    set(app, v, f) {
      const bytes = Math.round(usage(() => parseQuantity(v, f)));
      if (bytes < MIN_MEMORY_LIMIT) throw new UsageError(`memory limit of ${bytes} bytes too low (minimum ${MIN_MEMORY_LIMIT})`, 'try a reasonable value, such as --memory=16M');
      app.memory = bytes;
    },
  },
  '--cpu': {
    scope: 'app',
    kind: 'value',
    value: 'QUANTITY',
    help: "the app's CPU limit in cores (500m is half a core)",
    set(app, v, f) {
      const milli = Math.round(usage(() => parseQuantity(v, f)) * 1000);
      if (milli < 1) throw new UsageError(`${f}: CPU limit of ${JSON.stringify(v)} is below 1m`);
      app.cpuMilli = milli;
    },
  },
  '--cpu-shares': {
    scope: 'app',
    kind: 'value',
    value: 'N',
    help: "the app's relative CPU weight (2 to 262144; 1024 is the default)",
    set(app, v, f) {
      const n = intIn(v, 2, 262144);
      if (n === undefined) throw new UsageError(`${f} must be an integer from 2 to 262144`);
      app.cpuShares = n;
    },
  },
  '--oom-score-adj': {
    scope: 'app',
    kind: 'value',
    value: 'N',
    help: "the app's OOM score adjustment (-1000 to 1000)",
    set(app, v, f) {
      const n = intIn(v, -1000, 1000);
      if (n === undefined) throw new UsageError(`${f} must be an integer from -1000 to 1000`);
      app.oomScoreAdj = n;
    },
  },
  '--caps-retain': capsFlag('capsRetain', "the capabilities the app keeps (replaces the default set and the image's isolator)"),
  '--caps-remove': capsFlag('capsRemove', 'capabilities taken from the default set for the app'),
  '--cap-retain': capsFlag('capsRetain', 'old spelling of --caps-retain', '--caps-retain'),
  '--cap-remove': capsFlag('capsRemove', 'old spelling of --caps-remove', '--caps-remove'),
  '--seccomp': {
    scope: 'app',
    kind: 'value',
    value: 'mode=…,SYSCALL|@GROUP,…',
    help: "the app's system call filter, mode=retain|remove[,errno=ENAME],SYSCALL|@GROUP,…: the calls or groups it may use (retain) or may not (remove)",
    set: (app, v) => void (app.seccomp = parseSeccompFlag(v)),
  },
  '--user-annotation': kvApp('userAnnotations', 'an annotation of the app, shown by list and status (repeatable)'),
  '--user-label': kvApp('userLabels', 'a label of the app, shown by list and status (repeatable)'),
  '--annotation': {
    scope: 'app',
    kind: 'value',
    value: 'NAME=VALUE',
    help: "an annotation in the app's entry of the pod manifest (repeatable)",
    set(app, v, f) {
      const [k, val] = keyValue(v, f);
      app.annotations[usage(() => parseAcIdentifier(k, f))] = val;
    },
  },
};
