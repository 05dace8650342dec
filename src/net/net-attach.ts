import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';
import { execPlugin, findPlugin } from './cni-exec.js';
import { pluginConfig, pluginEnv, skippable, versionAtLeast, type InvokeTarget, type PortMapping, type RuntimeValues } from './cni-invoke.js';
import { parseResult, podAddress, type CniDns } from './cni-result.js';
import type { ChosenNet } from './net-select.js';
import { delStdinFile, readRecords, recordFile, removeRecord, writeRecord, type AttachRecord } from './net-state.js';

/** PATH for plugins (they run iptables, ip, their IPAM plugin by CNI_PATH). */
export const PLUGIN_HOST_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/** One line of `net-info.json` (rkt's fields, plus the gateway). */
export interface NetInfoEntry {
  netName: string;
  netConf: string;
  pluginPath: string;
  ifName: string;
  ip: string;
  mask: string;
  gateway: string;
  args: string;
}

export interface AttachOptions {
  podDir: string;
  uuid: string;
  nets: readonly ChosenNet[];
  netns: string;
  pluginPath: string[];
  portMappings: PortMapping[];
  timeoutMs?: number;
}

export interface Attached {
  info: NetInfoEntry[];
  /** DNS from the first result that names a server (rkt's precedence). */
  dns: CniDns | null;
}

const target = (r: AttachRecord): InvokeTarget => ({ containerId: r.containerId, netns: r.netns, ifName: r.ifName, args: r.args, pluginPath: r.pluginPath });

/** The port mappings go to the first net with a plugin declaring the capability (one DNAT per host port). */
function runtimeFor(nets: readonly ChosenNet[], ports: PortMapping[]): RuntimeValues[] {
  const first = nets.findIndex((n) => n.conf.plugins.some((p) => (p.capabilities as Record<string, unknown> | undefined)?.portMappings === true));
  return nets.map((_n, i) => ({ portMappings: i === first ? ports : [] }));
}

/**
 * CNI ADD of every net, in order, each plugin of a list given the previous one's result. Each
 * net's record is on disk before its first plugin runs, so a crash leaves what DEL needs. On a
 * failure the error names the net and plugin; the caller tears down (detachNets) what was done.
 */
export async function attachNets(o: AttachOptions): Promise<Attached> {
  const rts = runtimeFor(o.nets, o.portMappings);
  const info: NetInfoEntry[] = [];
  let dns: CniDns | null = null;
  for (const [i, n] of o.nets.entries()) {
    const rt = rts[i] ?? { portMappings: [] };
    const plugins = n.conf.plugins.map((p) => {
      const type = String(p.type);
      const skipped = skippable(n.conf.builtIn, p, rt);
      const binary = skipped ? '' : findPlugin(type, o.pluginPath);
      if (binary === null) throw new CapsuleError('cni-plugin', `network ${JSON.stringify(n.conf.name)}: plugin ${JSON.stringify(type)} not found in ${o.pluginPath.join(':')}`);
      return { type, binary, skipped };
    });
    const rec: AttachRecord = { index: i, conf: n.conf, ifName: n.ifName, args: n.args, containerId: o.uuid, netns: o.netns, pluginPath: o.pluginPath, runtime: rt, plugins };
    writeRecord(o.podDir, rec);
    let prev: Record<string, unknown> | undefined;
    for (const [k, p] of plugins.entries()) {
      if (p.skipped) continue;
      const conf = pluginConfig(n.conf, n.conf.plugins[k] ?? {}, rt, prev);
      const out = await execPlugin({ net: n.conf.name, type: p.type, command: 'ADD', binary: p.binary, env: pluginEnv('ADD', target(rec), PLUGIN_HOST_PATH), stdin: JSON.stringify(conf), ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}) });
      const parsed = parseResult(out);
      if (!parsed) throw new CapsuleError('cni-plugin', `network ${JSON.stringify(n.conf.name)}: plugin ${JSON.stringify(p.type)} (ADD) printed no result`);
      prev = parsed.raw;
    }
    rec.result = prev ?? {};
    writeRecord(o.podDir, rec);
    const r = parseResult(JSON.stringify(rec.result))?.result ?? {};
    const addr = podAddress(r);
    if (!dns && r.dns?.nameservers && r.dns.nameservers.length > 0) dns = r.dns;
    info.push({ netName: n.conf.name, netConf: n.conf.source, pluginPath: o.pluginPath.join(':'), ifName: n.ifName, ip: addr?.ip ?? '', mask: addr?.mask ?? '', gateway: addr?.gateway ?? '', args: n.args.map(([k, v]) => `${k}=${v}`).join(';') });
  }
  return { info, dns };
}

/** One prepared DEL call for the stage1 helper's exit-time teardown (paths relative to the pod dir). */
export interface DelStep {
  binary: string;
  env: Record<string, string>;
  stdin: string;
  /** The net's record: removed after the last step of the net succeeded. */
  record: string;
  last: boolean;
}

function delConfig(r: AttachRecord, k: number): string {
  const prev = versionAtLeast(r.conf.cniVersion, '0.4.0') ? r.result : undefined;
  return JSON.stringify(pluginConfig(r.conf, r.conf.plugins[k] ?? {}, r.runtime, prev));
}

/** The DEL calls for every attached net, last net first, each list's plugins in reverse; stdins written. */
export function prepareDelSteps(podDir: string): DelStep[] {
  const steps: DelStep[] = [];
  for (const r of readRecords(podDir).reverse()) {
    const ks = r.plugins.map((p, k) => ({ p, k })).filter((x) => !x.p.skipped).reverse();
    for (const [j, { p, k }] of ks.entries()) {
      const stdin = delStdinFile(r.index, k);
      fs.writeFileSync(path.join(podDir, stdin), delConfig(r, k));
      steps.push({ binary: p.binary, env: pluginEnv('DEL', target(r), PLUGIN_HOST_PATH), stdin, record: recordFile(r.index), last: j === ks.length - 1 });
    }
  }
  return steps;
}

/**
 * CNI DEL of every net still recorded (idempotent: a net whose DEL succeeded has no record any
 * more). Each net's failure is collected and the others still run; the records of failed nets
 * stay for the next gc. Returns the failures' messages.
 */
export async function detachNets(podDir: string, timeoutMs?: number): Promise<string[]> {
  const failures: string[] = [];
  const records = readRecords(podDir, (f, e) => failures.push(`${f}: unreadable (${e instanceof Error ? e.message : String(e)})`));
  for (const r of records.reverse()) {
    try {
      for (let k = r.plugins.length - 1; k >= 0; k--) {
        const p = r.plugins[k];
        if (!p || p.skipped) continue;
        const binary = findPlugin(p.type, r.pluginPath) ?? p.binary;
        await execPlugin({ net: r.conf.name, type: p.type, command: 'DEL', binary, env: pluginEnv('DEL', target(r), PLUGIN_HOST_PATH), stdin: delConfig(r, k), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
      }
      removeRecord(podDir, r.index);
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
    }
  }
  return failures;
}
