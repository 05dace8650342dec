/**
 * How a runtime calls one plugin (CNI spec 1.0, "Execution protocol" and "Network configuration
 * list runtime execution"): the environment and the stdin configuration. Pure.
 */

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

/** A host port forwarded into the pod (CNI `portMappings` capability, the portmap plugin's input). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  hostIP?: string;
}

/** Values for the capabilities plugins may declare (`capabilities: {portMappings: true}`). */
export interface RuntimeValues {
  portMappings: PortMapping[];
}

export interface InvokeTarget {
  containerId: string;
  netns: string;
  ifName: string;
  args: Array<[string, string]>;
  /** Directories searched for plugins, in order (CNI_PATH). */
  pluginPath: string[];
}

/** CNI_ARGS: `K=V;K=V`, as rkt passed `--net NAME:K=V;K=V`. */
export const cniArgs = (args: ReadonlyArray<readonly [string, string]>): string => args.map(([k, v]) => `${k}=${v}`).join(';');

/**
 * The plugin's environment: exactly the CNI variables plus PATH (plugins run iptables, ip and
 * their IPAM plugin). CNI_ARGS only when there are arguments, as libcni does.
 */
export function pluginEnv(cmd: CniCommand, t: InvokeTarget, hostPath: string): Record<string, string> {
  const env: Record<string, string> = {
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: t.containerId,
    CNI_NETNS: t.netns,
    CNI_IFNAME: t.ifName,
    CNI_PATH: t.pluginPath.join(':'),
    PATH: hostPath,
  };
  if (t.args.length > 0) env.CNI_ARGS = cniArgs(t.args);
  return env;
}

/** a.b.c compared numerically; versions CNI never had count as 0.0.0. */
export function versionAtLeast(v: string, min: string): boolean {
  const p = (s: string): number[] => (/^\d+\.\d+\.\d+$/.test(s) ? s.split('.').map(Number) : [0, 0, 0]);
  const [a, b] = [p(v), p(min)];
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/**
 * The stdin of plugin `plugin` of a list named `name`: the plugin's own config with the list's
 * `cniVersion` and `name`, `runtimeConfig` holding only the capabilities the plugin declares,
 * and `prevResult` (ADD: the previous plugin's result; DEL: the cached result of the whole ADD,
 * from CNI 0.4.0 on).
 */
export function pluginConfig(list: { cniVersion: string; name: string }, plugin: Readonly<Record<string, unknown>>, rt: RuntimeValues, prevResult: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const caps = plugin.capabilities;
  const runtimeConfig: Record<string, unknown> = {};
  if (typeof caps === 'object' && caps !== null) {
    const c = caps as Record<string, unknown>;
    if (c.portMappings === true) runtimeConfig.portMappings = rt.portMappings;
  }
  if (Object.keys(runtimeConfig).length > 0) out.runtimeConfig = runtimeConfig;
  else delete out.runtimeConfig;
  if (prevResult !== undefined && prevResult !== null) out.prevResult = prevResult;
  else delete out.prevResult;
  return out;
}

/**
 * Whether a plugin of a built-in net can be left out: one that only serves the `portMappings`
 * capability, when the pod forwards no port (saves a plugin run and its iptables calls). Nets from
 * net.d always run every plugin, as the spec says.
 */
export function skippable(builtIn: boolean, plugin: Readonly<Record<string, unknown>>, rt: RuntimeValues): boolean {
  return builtIn && plugin.type === 'portmap' && rt.portMappings.length === 0;
}
