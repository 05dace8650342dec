/** What plugins print (CNI spec 1.0 "Result types" and "Error"), read defensively. Pure. */

export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion?: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: CniDns;
}

export interface CniErrorJson {
  code: number;
  msg: string;
  details?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined);

/**
 * A result, or null when stdout is no JSON object. Older results (0.2.0: `ip4: {ip, gateway}`) are
 * read as the 1.0 shape; unknown fields are kept in the raw object the caller caches.
 */
export function parseResult(text: string): { raw: Record<string, unknown>; result: CniResult } | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(v)) return null;
  const r: CniResult = {};
  if (typeof v.cniVersion === 'string') r.cniVersion = v.cniVersion;
  if (Array.isArray(v.interfaces)) r.interfaces = v.interfaces.filter(isObject).filter((i) => typeof i.name === 'string').map((i) => ({ name: i.name as string, ...(typeof i.mac === 'string' ? { mac: i.mac } : {}), ...(typeof i.sandbox === 'string' ? { sandbox: i.sandbox } : {}) }));
  if (Array.isArray(v.ips)) {
    r.ips = v.ips.filter(isObject).filter((i) => typeof i.address === 'string').map((i) => ({ address: i.address as string, ...(typeof i.gateway === 'string' ? { gateway: i.gateway } : {}), ...(typeof i.interface === 'number' ? { interface: i.interface } : {}) }));
  } else if (isObject(v.ip4) && typeof v.ip4.ip === 'string') {
    r.ips = [{ address: v.ip4.ip, ...(typeof v.ip4.gateway === 'string' ? { gateway: v.ip4.gateway } : {}) }];
  }
  if (Array.isArray(v.routes)) r.routes = v.routes.filter(isObject).filter((x) => typeof x.dst === 'string').map((x) => ({ dst: x.dst as string, ...(typeof x.gw === 'string' ? { gw: x.gw } : {}) }));
  if (isObject(v.dns)) {
    const d = v.dns;
    const dns: CniDns = {};
    const ns = strings(d.nameservers);
    if (ns) dns.nameservers = ns;
    if (typeof d.domain === 'string') dns.domain = d.domain;
    const s = strings(d.search);
    if (s) dns.search = s;
    const o = strings(d.options);
    if (o) dns.options = o;
    r.dns = dns;
  }
  return { raw: v, result: r };
}

/** The spec's error object, when stdout holds one. */
export function parseError(text: string): CniErrorJson | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(v) || typeof v.code !== 'number' || typeof v.msg !== 'string') return null;
  return { code: v.code, msg: v.msg, ...(typeof v.details === 'string' && v.details !== '' ? { details: v.details } : {}) };
}

/** One line for the user: `<msg> (<details>) [code N]`, newlines folded. */
export function errorLine(e: CniErrorJson): string {
  const one = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();
  return `${one(e.msg)}${e.details !== undefined ? `: ${one(e.details)}` : ''} (CNI error code ${e.code})`;
}

/** The pod's address on a net: the first IPv4 address on an interface inside the sandbox (or any, when none says). */
export function podAddress(r: CniResult): { ip: string; mask: string; gateway?: string } | null {
  const ips = r.ips ?? [];
  const inSandbox = (i: CniIp): boolean => i.interface === undefined || r.interfaces?.[i.interface]?.sandbox !== undefined;
  const pick = ips.find((i) => inSandbox(i) && !i.address.includes(':')) ?? ips.find((i) => !i.address.includes(':'));
  if (!pick) return null;
  const [ip = '', bits = '32'] = pick.address.split('/');
  return { ip, mask: bits, ...(pick.gateway !== undefined ? { gateway: pick.gateway } : {}) };
}
