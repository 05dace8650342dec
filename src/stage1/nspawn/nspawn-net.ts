import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';
import type { PortMapping } from '../../net/cni-invoke.js';
import type { CniDns } from '../../net/cni-result.js';
import { attachNets, detachNets, prepareDelSteps, type NetInfoEntry } from '../../net/net-attach.js';
import type { NetTeardown } from './nspawn-plan.js';
import { collectNets, type NetConfFile } from '../../net/net-conf.js';
import { chooseNets, parseNetFlag, type NetSelection } from '../../net/net-select.js';
import { ensureSharedMasq } from '../../net/ensure-masq.js';
import { holdNetSetupLock } from '../../net/sweep-shared-chains.js';
import { NET_DIR, NET_LOCK, netnsPath, readRecords } from '../../net/net-state.js';
import { lockFile } from '../../sys/flock.js';
import { iptablesRules } from '../../sys/iptables.js';
import { createNetns, removeNetns } from '../../sys/netns.js';
import { POD_FILES, type NetEnv, type PodRuntime, type RunOptions } from '../contract.js';

export const DEFAULT_NET_ENV: NetEnv = { confDirs: ['/usr/lib/capsule/net.d', '/etc/capsule/net.d'], pluginPath: ['/usr/lib/cni'], netnsDir: '/run/capsule/netns' };

/** Where the pod's namespace file is recorded (written before it is made, so gc finds it after a crash). */
const NETNS_FILE = `${NET_DIR}/netns`;

/**
 * What the flavour can refuse before stage0 creates a pod: `--net` syntax (rkt's messages), and
 * `--port` on the host's network or on none, and (given the net env) nets no config names (rkt's
 * `networks not found`), so no pod is left behind for a typo.
 */
export function checkNetOptions(o: Pick<RunOptions, 'net'>, hasPorts: boolean, env?: NetEnv): NetSelection {
  const sel = parseNetFlag(o.net);
  if (hasPorts && sel.kind !== 'cni') throw new UsageError(`--port flag does not work with '${sel.kind}' networking`);
  if (env !== undefined && sel.kind === 'cni') chooseNets(sel, collectNets(env.confDirs.map(readConfDir)));
  return sel;
}

function readConfDir(dir: string): NetConfFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CapsuleError('net-config', `reading ${dir}`, { cause: e });
  }
  return names.filter((n) => n.endsWith('.conf') || n.endsWith('.conflist')).map((n) => ({ path: path.join(dir, n), text: fs.readFileSync(path.join(dir, n), 'utf8') }));
}

/**
 * Host ports another pod already forwards: the DNAT rules of portmap's chains (`CNI-DN-…`) in
 * the nat table. Read only when the pod forwards ports.
 */
async function forwardedPorts(): Promise<Set<string>> {
  const out = await iptablesRules('nat').catch(() => '');
  const used = new Set<string>();
  for (const l of out.split('\n')) {
    const m = /^-A CNI-DN-\S+ .*-p (tcp|udp) .*--dport (\d+) -j DNAT/.exec(l);
    if (m) used.add(`${m[2]}/${m[1]}`);
  }
  return used;
}

/** Fails when something on the host already listens on a port the pod wants forwarded. */
async function checkPortFree(p: PortMapping): Promise<void> {
  const host = p.hostIP ?? '0.0.0.0';
  const what = `host port ${p.hostIP !== undefined ? `${p.hostIP}:` : ''}${p.hostPort}/${p.protocol}`;
  await new Promise<void>((resolve, reject) => {
    const fail = (e: NodeJS.ErrnoException): void => reject(new CapsuleError('port-in-use', e.code === 'EADDRINUSE' ? `${what} is already in use` : `${what} cannot be forwarded`, e.code === 'EADDRINUSE' ? {} : { cause: e }));
    if (p.protocol === 'udp') {
      const s = dgram.createSocket('udp4');
      s.once('error', fail);
      s.bind(p.hostPort, host, () => s.close(() => resolve()));
    } else {
      const s = net.createServer();
      s.once('error', fail);
      s.listen({ port: p.hostPort, host, exclusive: true }, () => s.close(() => resolve()));
    }
  });
}

export interface PodNet {
  kind: 'host' | 'none' | 'cni';
  netns?: string;
  teardown?: NetTeardown;
  info: NetInfoEntry[];
  dns: CniDns | null;
}

/**
 * Before nspawn starts: `host` and `none` need nothing (nspawn shares the host's namespace, or
 * makes one with loopback only); CNI nets get the pod's own namespace, bound at
 * `<netnsDir>/capsule-<uuid>`, and every net's ADD. `net-info.json` lists what was joined. On a
 * failure everything done so far is torn down again before the error is thrown.
 */
export async function setupPodNet(podDir: string, env: NetEnv, pod: PodRuntime, o: RunOptions): Promise<PodNet> {
  const ports = pod.ports ?? [];
  const sel = checkNetOptions(o, ports.length > 0);
  if (sel.kind !== 'cni') {
    fs.writeFileSync(path.join(podDir, POD_FILES.netInfo), '[]');
    return { kind: sel.kind, info: [], dns: null };
  }
  const nets = chooseNets(sel, collectNets(env.confDirs.map(readConfDir)));
  const mappings: PortMapping[] = ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, ...(p.hostIP !== undefined ? { hostIP: p.hostIP } : {}) }));
  if (mappings.length > 0) {
    const used = await forwardedPorts();
    for (const m of mappings) if (used.has(`${m.hostPort}/${m.protocol}`)) throw new CapsuleError('port-in-use', `host port ${m.hostPort}/${m.protocol} is already forwarded to another pod`);
    await Promise.all(mappings.map(checkPortFree));
  }
  const netns = netnsPath(env.netnsDir, pod.uuid);
  fs.mkdirSync(path.join(podDir, NET_DIR), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(podDir, NETNS_FILE), netns);
  // The shared masquerade rules (made by the first pod, one `iptables -C` after that) meanwhile:
  // the pod sends nothing before nspawn starts, after both are done.
  const masqs = [...new Map(nets.flatMap((n) => (n.conf.sharedMasq ? [[n.conf.sharedMasq.chain, n.conf.sharedMasq] as const] : []))).values()];
  // Both under the shared net-setup lock, so gc's sweep of unused shared chains cannot remove them
  // between this pod's check and its ADD (portmap makes its top-level chains during the ADD).
  const setupLock = holdNetSetupLock();
  setupLock.catch(() => undefined); // awaited below on every path
  const masq = setupLock.then(() => Promise.all(masqs.map((m) => ensureSharedMasq(m))));
  masq.catch(() => undefined); // awaited below on every path
  try {
    await createNetns(netns);
    await setupLock;
    const r = await attachNets({ podDir, uuid: pod.uuid, nets, netns, pluginPath: env.pluginPath, portMappings: mappings });
    await masq.catch((e: unknown) => {
      throw new CapsuleError('net-masq', 'setting up the default net\'s masquerade rules', { cause: e });
    });
    fs.writeFileSync(path.join(podDir, POD_FILES.netInfo), JSON.stringify(r.info));
    fs.writeFileSync(path.join(podDir, NET_LOCK), '', { mode: 0o600 });
    const teardown: NetTeardown = { lock: NET_LOCK, steps: prepareDelSteps(podDir), netnsMarker: NETNS_FILE };
    return { kind: 'cni', netns, teardown, info: r.info, dns: r.dns };
  } catch (e) {
    await masq.catch(() => undefined);
    await teardownPodNet(podDir, false).catch(() => undefined);
    throw e;
  } finally {
    (await setupLock.catch(() => null))?.release();
  }
}

/**
 * Every teardown path ends here (gc after exit, stop, rm, SIGKILL): waits for the stage1 helper's
 * own exit-time teardown (it holds `net/lock`), then DEL of every net still recorded, then the
 * namespace is unbound. Idempotent. A failed DEL keeps its record for the next gc and fails with
 * the plugin's message.
 */
export async function teardownPodNet(podDir: string, waitForHelper = true): Promise<void> {
  const netnsFile = path.join(podDir, NETNS_FILE);
  if (!fs.existsSync(netnsFile) && readRecords(podDir).length === 0) return;
  const lock = waitForHelper && fs.existsSync(path.join(podDir, NET_LOCK)) ? await lockFile(path.join(podDir, NET_LOCK), 'exclusive', true) : null;
  try {
    const failures = await detachNets(podDir);
    let netns: string | null = null;
    try {
      netns = fs.readFileSync(netnsFile, 'utf8').trim();
    } catch {
      netns = null;
    }
    if (netns !== null && netns !== '') {
      await removeNetns(netns);
      fs.rmSync(netnsFile, { force: true });
    }
    if (failures.length > 0) throw new CapsuleError('net-teardown', `network teardown failed (gc retries it): ${failures.join('; ')}`);
  } finally {
    lock?.release();
  }
}
