import { UsageError } from '../../errors/capsule-error.js';
import { dnsOptions, hostsOptions, parsePortFlag } from './net-flags.js';
import { RUN_FLAGS, type FlagState } from './run-flags.js';
import type { AppSpec, RunSpec } from './run-spec.js';

function newApp(image: string): AppSpec {
  return { image, args: [], environment: [], mounts: [], userAnnotations: {}, userLabels: {}, annotations: {} };
}

/**
 * `run` / `prepare` argv after the command word (global flags already removed), walked like rkt:
 * flags before the first image are pod-wide, per-app flags apply to the nearest preceding image,
 * `IMAGE -- args… [---]` gives an app extra exec arguments. Every error is a UsageError.
 */
export function parseRunArgs(argv: readonly string[], kind: 'run' | 'prepare', warn: (msg: string) => void = () => undefined): RunSpec {
  const st: FlagState = {
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
      const def = Object.hasOwn(RUN_FLAGS, name) ? RUN_FLAGS[name] : undefined;
      if (!def || (def.scope === 'pod' && def.only !== undefined && def.only !== kind)) throw new UsageError(`unknown flag: ${name}`);
      let value: string;
      if (eq >= 0) value = a.slice(eq + 1);
      else if (def.kind === 'bool') value = 'true';
      else if (def.kind === 'optional') value = def.bare ?? '';
      else {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: ${name}`);
        value = argv[++i] ?? '';
      }
      if (def.deprecated !== undefined) warn(`${name} is deprecated: use ${def.deprecated}`);
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

function validate(st: FlagState): void {
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
  for (const p of pod.ports) parsePortFlag(p);
  dnsOptions(pod);
  hostsOptions(pod);
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
