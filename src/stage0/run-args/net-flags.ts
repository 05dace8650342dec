import { isIP } from 'node:net';
import { UsageError } from '../../errors/capsule-error.js';
import type { DnsOptions, HostsOptions, PortForward } from '../../stage1/contract.js';
import type { PodFlags } from './run-spec.js';

/**
 * `--dns IP[,IP]|host|none` (repeatable), `--dns-search`, `--dns-opt`, `--dns-domain` with rkt's
 * rules: `host` and `none` stand alone, the other flags need servers (or nothing) as the mode.
 */
export function dnsOptions(pod: Pick<PodFlags, 'dns' | 'dnsSearch' | 'dnsOpt' | 'dnsDomain'>): DnsOptions {
  const values = pod.dns.flatMap((d) => d.split(',')).filter((d) => d !== '');
  const magic = values.filter((v) => v === 'host' || v === 'none');
  const extra = pod.dnsSearch.length > 0 || pod.dnsOpt.length > 0 || pod.dnsDomain !== undefined;
  if (magic.length > 0) {
    const m = magic[0] as 'host' | 'none';
    if (values.length > 1 || extra) throw new UsageError(`no other --dns options allowed when --dns=${m} is passed`);
    return { mode: m, servers: [], search: [], options: [] };
  }
  for (const v of values) if (isIP(v) === 0) throw new UsageError(`Invalid IP passed to --dns: ${v}`);
  for (const s of [...pod.dnsSearch, ...pod.dnsOpt, pod.dnsDomain ?? '']) {
    if (/\s/.test(s)) throw new UsageError(`--dns-search, --dns-opt and --dns-domain take no spaces: ${JSON.stringify(s)}`);
  }
  if (values.length === 0 && !extra) return { mode: 'default', servers: [], search: [], options: [] };
  return { mode: 'given', servers: values, search: [...pod.dnsSearch], options: [...pod.dnsOpt], ...(pod.dnsDomain !== undefined ? { domain: pod.dnsDomain } : {}) };
}

const HOSTNAME_RE = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/;

/** `--hosts-entry IP=HOST[,IP=HOST]` (repeatable; one IP's names gathered on one line) or `host` alone. */
export function hostsOptions(pod: Pick<PodFlags, 'hostsEntries'>): HostsOptions {
  const items = pod.hostsEntries.flatMap((h) => h.split(',')).filter((h) => h !== '');
  if (items.includes('host')) {
    if (items.length > 1) throw new UsageError('no other --hosts-entry options allowed when --hosts-entry=host is passed');
    return { mode: 'host', entries: [] };
  }
  if (items.length === 0) return { mode: 'default', entries: [] };
  const byIp = new Map<string, string[]>();
  for (const it of items) {
    const eq = it.indexOf('=');
    const ip = eq < 0 ? '' : it.slice(0, eq);
    const host = eq < 0 ? '' : it.slice(eq + 1);
    if (isIP(ip) === 0) throw new UsageError(`Invalid IP passed to --hosts-entry: ${JSON.stringify(it)} (want IP=HOST)`);
    if (!HOSTNAME_RE.test(host)) throw new UsageError(`invalid host name in --hosts-entry: ${JSON.stringify(it)}`);
    const names = byIp.get(ip) ?? [];
    if (!names.includes(host)) names.push(host);
    byIp.set(ip, names);
  }
  return { mode: 'given', entries: [...byIp.entries()] };
}

/** A `--port NAME:[HOSTIP:]HOSTPORT` before the image ports are known. */
export interface PortRequest {
  name: string;
  hostPort: number;
  hostIP?: string;
}

export function parsePortFlag(v: string): PortRequest {
  const parts = v.split(':');
  const bad = (): never => {
    throw new UsageError(`invalid --port ${JSON.stringify(v)} (want NAME:[HOSTIP:]HOSTPORT)`);
  };
  if (parts.length < 2 || parts.length > 3) bad();
  const name = parts[0] ?? '';
  const portText = parts.at(-1) ?? '';
  if (!/^[a-z0-9]+([-a-z0-9]*[a-z0-9])?$/.test(name)) bad();
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw new UsageError(`invalid --port ${JSON.stringify(v)}: host port ${JSON.stringify(portText)} is not in 1-65535`);
  const out: PortRequest = { name, hostPort: Number(portText) };
  if (parts.length === 3) {
    const ip = parts[1] ?? '';
    if (isIP(ip) !== 4) throw new UsageError(`invalid --port ${JSON.stringify(v)}: ${JSON.stringify(ip)} is not an IPv4 address`);
    out.hostIP = ip;
  }
  return out;
}

export interface ImagePort {
  name: string;
  protocol: string;
  port: number;
}

/**
 * Port requests matched to the apps' image ports by name (rkt: the name an image gives a port;
 * OCI images `80-tcp`). Unknown names and a host port asked for twice are refused.
 */
export function resolvePorts(reqs: readonly PortRequest[], appPorts: ReadonlyArray<readonly ImagePort[]>): PortForward[] {
  const out: PortForward[] = [];
  for (const r of reqs) {
    const found = appPorts.flat().find((p) => p.name === r.name);
    if (!found) throw new UsageError(`port name ${JSON.stringify(r.name)} is not exposed by any app of the pod`);
    const protocol = found.protocol.toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp') throw new UsageError(`port ${JSON.stringify(r.name)}: protocol ${JSON.stringify(found.protocol)} cannot be forwarded (tcp or udp)`);
    if (out.some((o) => o.hostPort === r.hostPort && o.protocol === protocol)) throw new UsageError(`host port ${r.hostPort}/${protocol} is forwarded twice`);
    out.push({ name: r.name, protocol, containerPort: found.port, hostPort: r.hostPort, ...(r.hostIP !== undefined ? { hostIP: r.hostIP } : {}) });
  }
  return out;
}
