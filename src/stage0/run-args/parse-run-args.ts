import path from 'node:path';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';
import { parseAcIdentifier, parseAcName } from '../../spec/ac-identifier.js';
import { parseCapabilityList } from '../../spec/capabilities.js';
import { parseErrno } from '../../spec/errno.js';
import { parseQuantity } from '../../spec/quantity.js';
import { expandSeccompSet } from '../../spec/seccomp-groups.js';
import type { Stage1Flavour } from '../../stage1/contract.js';
import { parsePullPolicy } from '../pull-policy.js';
import type { AppSpec, MountFlag, PodFlags, RunSpec, SeccompFlag, VolumeFlag } from './run-spec.js';

/** rkt refuses smaller memory limits: most likely `16m` (milli-bytes) meant `16M`. */
export const MIN_MEMORY_LIMIT = 4 * 1024 * 1024;

const MAX_ID = 4294967294;

/** A spec/ error raised while reading a flag is the user's mistake: same message, usage code. */
function usage<T>(f: () => T, prefix?: string): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof CapsuleError && !(e instanceof UsageError)) throw new UsageError(prefix ? `${prefix}: ${e.message}` : e.message);
    throw e;
  }
}

/** Go's strconv.ParseBool, which rkt's flags use. */
function parseBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

function keyValue(s: string, flag: string): [string, string] {
  const eq = s.indexOf('=');
  if (eq <= 0) throw new UsageError(`invalid format of ${flag} flag ${JSON.stringify(s)}`);
  return [s.slice(0, eq), s.slice(eq + 1)];
}

function intIn(s: string, min: number, max: number): number | undefined {
  if (!/^-?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

/** `a=b,c=d` as rkt splits it (no URL decoding; a key twice is an error). */
function params(items: string[], what: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const item of items) {
    const eq = item.indexOf('=');
    const k = eq < 0 ? item : item.slice(0, eq);
    if (m.has(k)) throw new UsageError(`${what} parameter ${JSON.stringify(k)} given more than once`);
    m.set(k, eq < 0 ? '' : item.slice(eq + 1));
  }
  return m;
}

/** A path inside an app: absolute, normalized, no `..` segments. */
function appPath(p: string): string | undefined {
  if (!p.startsWith('/') || p.split('/').includes('..')) return undefined;
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

export function parseVolumeFlag(s: string): VolumeFlag {
  const bad = (why: string): UsageError => new UsageError(`invalid value in --volume flag ${JSON.stringify(s)}: ${why}`);
  const [name = '', ...rest] = s.split(',');
  try {
    parseAcName(name, 'volume name');
  } catch (e) {
    throw bad((e as Error).message);
  }
  let p: Map<string, string>;
  try {
    p = params(rest, 'volume');
  } catch (e) {
    throw bad((e as Error).message);
  }
  for (const k of p.keys()) if (!['kind', 'source', 'readOnly', 'recursive', 'mode', 'uid', 'gid'].includes(k)) throw bad(`unknown volume parameter ${JSON.stringify(k)}`);
  const kind = p.get('kind');
  if (kind !== 'host' && kind !== 'empty') throw bad('unrecognized volume kind: should be one of "empty", "host"');
  const v: VolumeFlag = { name, kind };
  const bool = (k: 'readOnly' | 'recursive'): void => {
    const raw = p.get(k);
    if (raw === undefined) return;
    const b = parseBool(raw);
    if (b === undefined) throw bad(`${k}: invalid boolean ${JSON.stringify(raw)}`);
    v[k] = b;
  };
  bool('readOnly');
  if (kind === 'host') {
    const source = p.get('source');
    if (source === undefined || source === '') throw bad('source for host volume cannot be empty');
    if (!source.startsWith('/')) throw bad('source for host volume must be absolute path');
    v.source = source;
    for (const k of ['mode', 'uid', 'gid']) if (p.has(k)) throw bad(`${k} for host volume cannot be set`);
    bool('recursive');
  } else {
    if (p.has('source')) throw bad('source for empty volume must be empty');
    if (p.has('recursive')) throw bad('recursive for empty volume cannot be set');
    const mode = p.get('mode');
    if (mode !== undefined) {
      if (!/^0?[0-7]{3,4}$/.test(mode)) throw bad(`invalid mode ${JSON.stringify(mode)}`);
      v.mode = mode;
    }
    for (const k of ['uid', 'gid'] as const) {
      const raw = p.get(k);
      if (raw === undefined) continue;
      const n = intIn(raw, 0, MAX_ID);
      if (n === undefined) throw bad(`invalid ${k} ${JSON.stringify(raw)}`);
      v[k] = n;
    }
  }
  return v;
}

export function parseMountFlag(s: string): MountFlag {
  const p = params(s.split(','), 'mount');
  for (const k of p.keys()) if (k !== 'volume' && k !== 'target') throw new UsageError(`unknown mount parameter ${JSON.stringify(k)}`);
  const volume = p.get('volume');
  const target = p.get('target');
  if (volume === undefined || target === undefined) throw new UsageError(`--mount flag ${JSON.stringify(s)} needs volume= and target=`);
  try {
    parseAcName(volume, 'volume name');
  } catch (e) {
    throw new UsageError(`invalid volume name ${JSON.stringify(volume)} in --mount flag ${JSON.stringify(s)}: ${(e as Error).message}`);
  }
  const norm = appPath(target);
  if (norm === undefined) throw new UsageError(`invalid target ${JSON.stringify(target)} in --mount flag ${JSON.stringify(s)}: must be an absolute path without ".." segments`);
  return { volume, path: norm };
}

/** rkt's `--seccomp [errno=EPERM,]mode=retain|remove,syscall|@group,…`. */
export function parseSeccompFlag(s: string): SeccompFlag {
  let mode: string | undefined;
  let errno: string | null = null;
  const set: string[] = [];
  for (const item of s.split(',')) {
    const kv = item.split('=');
    if (kv.length === 2) {
      const [k = '', v = ''] = kv;
      if (k === 'mode') mode = v;
      // An empty errno is appc's "kill the app" (the default).
      else if (k === 'errno') errno = v === '' ? null : v;
      else throw new UsageError(`invalid seccomp command-line override ${JSON.stringify(item)}`);
    } else if (kv.length > 2 || item === '') {
      throw new UsageError(`invalid seccomp command-line override ${JSON.stringify(item)}`);
    } else set.push(item);
  }
  if (mode !== 'retain' && mode !== 'remove') throw new UsageError('invalid seccomp mode command-line override (want mode=retain or mode=remove)');
  if (set.length === 0) throw new UsageError('--seccomp needs at least one syscall or @group');
  if (errno !== null) {
    const e = errno;
    usage(() => parseErrno(e), '--seccomp');
  }
  const exp = usage(() => expandSeccompSet(set), '--seccomp');
  if (exp.all && mode === 'remove') throw new UsageError('--seccomp: @appc.io/all is only valid in a retain set');
  return { mode, errno, set };
}

/**
 * The stage1 flavour a `--stage1-*` value names: `nspawn` or `fly`, or an rkt stage1 image
 * name, file or URL whose last path segment says which (`…stage1-fly…` → fly;
 * `…stage1-coreos…`, `…-host…`, `…-src…` → nspawn).
 */
export function stage1FlavourOf(value: string, flag: string): Stage1Flavour {
  if (value === 'nspawn' || value === 'fly') return value;
  if (flag !== '--stage1') {
    const last = (value.split(/[?#]/)[0] ?? '').split('/').filter(Boolean).pop() ?? '';
    const base = last.replace(/:.*$/, '').toLowerCase();
    if (base.includes('fly')) return 'fly';
    if (/coreos|host|src|nspawn/.test(base)) return 'nspawn';
  }
  throw new UsageError(`unsupported stage1 ${JSON.stringify(value)} for ${flag} (capsule has the nspawn and fly flavours)`);
}

type Kind = 'bool' | 'value' | 'optional';

interface State {
  pod: PodFlags;
  apps: AppSpec[];
  stage1Flag?: string;
  storeOnly: boolean;
  noStore: boolean;
  pullPolicyGiven: boolean;
}

interface PodFlagDef {
  scope: 'pod';
  kind: Kind;
  only?: 'run' | 'prepare';
  /** optional kind: the value of the bare flag. */
  bare?: string;
  set(st: State, v: string, flag: string): void;
}

interface AppFlagDef {
  scope: 'app';
  kind: Kind;
  bare?: string;
  set(app: AppSpec, v: string, flag: string): void;
}

const bool = (v: string, flag: string): boolean => {
  const b = parseBool(v);
  if (b === undefined) throw new UsageError(`invalid boolean value ${JSON.stringify(v)} for ${flag}`);
  return b;
};

const stage1Flag: PodFlagDef = {
  scope: 'pod',
  kind: 'value',
  set(st, v, flag) {
    if (st.stage1Flag !== undefined && st.stage1Flag !== flag) throw new UsageError(`flags ${st.stage1Flag} and ${flag} are mutually exclusive`);
    st.stage1Flag = flag;
    st.pod.stage1 = stage1FlavourOf(v, flag);
  },
};

const capsFlag = (which: 'capsRetain' | 'capsRemove'): AppFlagDef => ({
  scope: 'app',
  kind: 'value',
  set(app, v, flag) {
    const caps = usage(() => parseCapabilityList(v.split(',')), flag);
    app[which] = caps;
  },
});

const kvApp = (which: 'userAnnotations' | 'userLabels'): AppFlagDef => ({
  scope: 'app',
  kind: 'value',
  set(app, v, flag) {
    const [k, val] = keyValue(v, flag);
    app[which][k] = val;
  },
});

const FLAGS: Record<string, PodFlagDef | AppFlagDef> = {
  // ---- pod-level ----
  '--volume': {
    scope: 'pod',
    kind: 'value',
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
    set(st, v) {
      const m = parseMountFlag(v);
      (st.apps.at(-1)?.mounts ?? st.pod.mounts).push(m);
    },
  },
  '--set-env': {
    scope: 'pod',
    kind: 'value',
    set(st, v, flag) {
      const [k, val] = keyValue(v, flag);
      if (st.pod.setEnv.some(([x]) => x === k)) throw new UsageError(`${flag}: key ${JSON.stringify(k)} already set`);
      st.pod.setEnv.push([k, val]);
    },
  },
  '--set-env-file': { scope: 'pod', kind: 'value', set: (st, v) => void st.pod.setEnvFiles.push(v) },
  '--inherit-env': { scope: 'pod', kind: 'bool', set: (st, v, f) => void (st.pod.inheritEnv = bool(v, f)) },
  '--pod-manifest': { scope: 'pod', kind: 'value', set: (st, v) => void (st.pod.podManifest = v) },
  '--private-users': { scope: 'pod', kind: 'bool', set: (st, v, f) => void (st.pod.privateUsers = bool(v, f)) },
  '--no-overlay': { scope: 'pod', kind: 'bool', set: (st, v, f) => void (st.pod.noOverlay = bool(v, f)) },
  '--pull-policy': {
    scope: 'pod',
    kind: 'value',
    set(st, v) {
      st.pod.pullPolicy = parsePullPolicy(v);
      st.pullPolicyGiven = true;
    },
  },
  // Deprecated in rkt: --pull-policy=never / update.
  '--store-only': { scope: 'pod', kind: 'bool', set: (st, v, f) => void (st.storeOnly = bool(v, f)) },
  '--no-store': { scope: 'pod', kind: 'bool', set: (st, v, f) => void (st.noStore = bool(v, f)) },
  '--port': { scope: 'pod', kind: 'value', set: (st, v) => void st.pod.ports.push(v) },
  '--stage1': stage1Flag,
  '--stage1-name': stage1Flag,
  '--stage1-path': stage1Flag,
  '--stage1-url': stage1Flag,
  '--stage1-hash': stage1Flag,
  '--stage1-from-dir': stage1Flag,
  '--quiet': { scope: 'pod', kind: 'bool', only: 'prepare', set: (st, v, f) => void (st.pod.quiet = bool(v, f)) },
  '--hostname': { scope: 'pod', kind: 'value', only: 'run', set: (st, v) => void (st.pod.hostname = v) },
  '--interactive': { scope: 'pod', kind: 'bool', only: 'run', set: (st, v, f) => void (st.pod.interactive = bool(v, f)) },
  '--ipc': {
    scope: 'pod',
    kind: 'value',
    only: 'run',
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
    set: (st, v) => void (st.pod.net = st.pod.net === undefined ? v : `${st.pod.net},${v}`),
  },
  '--dns': { scope: 'pod', kind: 'value', only: 'run', set: (st, v) => void st.pod.dns.push(v) },
  '--dns-search': { scope: 'pod', kind: 'value', only: 'run', set: (st, v) => void st.pod.dnsSearch.push(v) },
  '--dns-opt': { scope: 'pod', kind: 'value', only: 'run', set: (st, v) => void st.pod.dnsOpt.push(v) },
  '--dns-domain': { scope: 'pod', kind: 'value', only: 'run', set: (st, v) => void (st.pod.dnsDomain = v) },
  '--hosts-entry': { scope: 'pod', kind: 'value', only: 'run', set: (st, v) => void st.pod.hostsEntries.push(v) },
  '--uuid-file-save': { scope: 'pod', kind: 'value', only: 'run', set: (st, v) => void (st.pod.uuidFileSave = v) },
  '--mds-register': {
    scope: 'pod',
    kind: 'bool',
    only: 'run',
    set(_st, v, f) {
      if (bool(v, f)) throw new UsageError('--mds-register is not supported');
    },
  },

  // ---- per-app ----
  '--signature': {
    scope: 'app',
    kind: 'value',
    set(app, v) {
      if (app.signature !== undefined) throw new UsageError('--signature specified multiple times for the same image');
      app.signature = v;
    },
  },
  '--exec': {
    scope: 'app',
    kind: 'value',
    set(app, v) {
      if (app.exec !== undefined) throw new UsageError('--exec specified multiple times for the same image');
      if (v === '') throw new UsageError('--exec must not be empty');
      app.exec = v;
    },
  },
  '--name': { scope: 'app', kind: 'value', set: (app, v, f) => void (app.name = usage(() => parseAcName(v, f))) },
  '--user': {
    scope: 'app',
    kind: 'value',
    set(app, v, f) {
      if (v === '') throw new UsageError(`${f} must not be empty`);
      app.user = v;
    },
  },
  '--group': {
    scope: 'app',
    kind: 'value',
    set(app, v, f) {
      if (v === '') throw new UsageError(`${f} must not be empty`);
      app.group = v;
    },
  },
  '--supplementary-gids': {
    scope: 'app',
    kind: 'value',
    set(app, v) {
      const gids = v.split(',').map((g) => intIn(g, 0, MAX_ID));
      if (gids.some((g) => g === undefined)) throw new UsageError('--supplementary-gids must be integers');
      app.supplementaryGids = [...(app.supplementaryGids ?? []), ...(gids as number[])];
    },
  },
  '--working-dir': {
    scope: 'app',
    kind: 'value',
    set(app, v) {
      if (!v.startsWith('/')) throw new UsageError('--working-dir must be an absolute path');
      app.workingDir = v;
    },
  },
  '--readonly-rootfs': {
    scope: 'app',
    kind: 'optional',
    bare: 'true',
    set(app, v) {
      const b = parseBool(v);
      if (b === undefined) throw new UsageError('--readonly-rootfs must be set with a boolean');
      app.readOnlyRootfs = b;
    },
  },
  '--environment': {
    scope: 'app',
    kind: 'value',
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
    set(app, v, f) {
      const bytes = Math.round(usage(() => parseQuantity(v, f)));
      if (bytes < MIN_MEMORY_LIMIT) throw new UsageError(`memory limit of ${bytes} bytes too low (minimum ${MIN_MEMORY_LIMIT})`, 'try a reasonable value, such as --memory=16M');
      app.memory = bytes;
    },
  },
  '--cpu': {
    scope: 'app',
    kind: 'value',
    set(app, v, f) {
      const milli = Math.round(usage(() => parseQuantity(v, f)) * 1000);
      if (milli < 1) throw new UsageError(`${f}: CPU limit of ${JSON.stringify(v)} is below 1m`);
      app.cpuMilli = milli;
    },
  },
  '--cpu-shares': {
    scope: 'app',
    kind: 'value',
    set(app, v, f) {
      const n = intIn(v, 2, 262144);
      if (n === undefined) throw new UsageError(`${f} must be an integer from 2 to 262144`);
      app.cpuShares = n;
    },
  },
  '--oom-score-adj': {
    scope: 'app',
    kind: 'value',
    set(app, v, f) {
      const n = intIn(v, -1000, 1000);
      if (n === undefined) throw new UsageError(`${f} must be an integer from -1000 to 1000`);
      app.oomScoreAdj = n;
    },
  },
  '--caps-retain': capsFlag('capsRetain'),
  '--caps-remove': capsFlag('capsRemove'),
  '--cap-retain': capsFlag('capsRetain'),
  '--cap-remove': capsFlag('capsRemove'),
  '--seccomp': { scope: 'app', kind: 'value', set: (app, v) => void (app.seccomp = parseSeccompFlag(v)) },
  '--user-annotation': kvApp('userAnnotations'),
  '--user-label': kvApp('userLabels'),
  '--annotation': {
    scope: 'app',
    kind: 'value',
    set(app, v, f) {
      const [k, val] = keyValue(v, f);
      app.annotations[usage(() => parseAcIdentifier(k, f))] = val;
    },
  },
};

function newApp(image: string): AppSpec {
  return { image, args: [], environment: [], mounts: [], userAnnotations: {}, userLabels: {}, annotations: {} };
}

/**
 * `run` / `prepare` argv after the command word (global flags already removed), walked like rkt:
 * flags before the first image are pod-wide, per-app flags apply to the nearest preceding image,
 * `IMAGE -- args… [---]` gives an app extra exec arguments. Every error is a UsageError.
 */
export function parseRunArgs(argv: readonly string[], kind: 'run' | 'prepare'): RunSpec {
  const st: State = {
    pod: {
      volumes: [],
      mounts: [],
      setEnv: [],
      setEnvFiles: [],
      inheritEnv: false,
      interactive: false,
      privateUsers: false,
      noOverlay: false,
      dns: [],
      dnsSearch: [],
      dnsOpt: [],
      hostsEntries: [],
      ports: [],
      pullPolicy: 'new',
      quiet: false,
    },
    apps: [],
    storeOnly: false,
    noStore: false,
    pullPolicyGiven: false,
  };
  let inAppArgs = false;
  let appsAtLastArgs = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (inAppArgs) {
      if (a === '---') inAppArgs = false;
      else st.apps.at(-1)?.args.push(a);
      continue;
    }
    if (a === '--') {
      if (appsAtLastArgs === st.apps.length) {
        throw new UsageError(st.apps.length === 0 ? 'an image is required before any app arguments' : 'only one set of app arguments allowed per image');
      }
      inAppArgs = true;
      appsAtLastArgs = st.apps.length;
      continue;
    }
    // rkt ignores a stray `---` outside app arguments.
    if (a === '---') continue;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a : a.slice(0, eq);
      const def = Object.hasOwn(FLAGS, name) ? FLAGS[name] : undefined;
      if (!def || (def.scope === 'pod' && def.only !== undefined && def.only !== kind)) throw new UsageError(`unknown flag: ${name}`);
      let value: string;
      if (eq >= 0) value = a.slice(eq + 1);
      else if (def.kind === 'bool') value = 'true';
      else if (def.kind === 'optional') value = def.bare ?? '';
      else {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: ${name}`);
        value = argv[++i] ?? '';
      }
      if (def.scope === 'pod') def.set(st, value, name);
      else {
        const app = st.apps.at(-1);
        if (!app) throw new UsageError(`${name} must follow an image`);
        def.set(app, value, name);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) throw new UsageError(`unknown shorthand flag: '${a[1] ?? ''}' in ${a}`);
    st.apps.push(newApp(a));
  }
  validate(st);
  return { pod: st.pod, apps: st.apps };
}

function validate(st: State): void {
  const { pod, apps } = st;
  const vols = new Set(pod.volumes.map((v) => v.name));
  for (const m of [...pod.mounts, ...apps.flatMap((a) => a.mounts)]) {
    if (!vols.has(m.volume)) throw new UsageError(`dangling mount point ${JSON.stringify(m.path)}: volume ${JSON.stringify(m.volume)} not found`);
  }
  for (const a of apps) {
    if (a.capsRetain && a.capsRemove) throw new UsageError('cannot use both --caps-retain and --caps-remove on the same image');
  }
  if (st.storeOnly && st.noStore) throw new UsageError('both --store-only and --no-store specified');
  if (st.storeOnly) pod.pullPolicy = 'never';
  if (st.noStore) pod.pullPolicy = 'update';
  if (pod.ports.length > 0 && pod.net !== undefined) {
    const nets = pod.net.split(',').map((n) => n.split(':')[0]);
    if (nets.includes('none')) throw new UsageError("--port flag does not work with 'none' networking");
    if (nets.includes('host')) throw new UsageError("--port flag does not work with 'host' networking");
  }
  if (
    pod.podManifest !== undefined &&
    (apps.length > 0 ||
      pod.volumes.length > 0 ||
      pod.mounts.length > 0 ||
      pod.ports.length > 0 ||
      pod.inheritEnv ||
      pod.setEnv.length > 0 ||
      pod.setEnvFiles.length > 0 ||
      st.storeOnly ||
      st.noStore ||
      (st.pullPolicyGiven && pod.pullPolicy !== 'new'))
  ) {
    throw new UsageError('conflicting flags set with --pod-manifest (see --help)');
  }
  if (pod.interactive && apps.length > 1) throw new UsageError('interactive option only supports one image');
  if (apps.length === 0 && pod.podManifest === undefined) throw new UsageError('must provide at least one image or specify the pod manifest');
  if (pod.privateUsers && !pod.noOverlay) throw new UsageError('cannot use both overlay and user namespace: not implemented yet. (Try --no-overlay)');
}
