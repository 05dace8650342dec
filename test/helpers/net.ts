import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Host state a pod's networking may leave, FILTERED to what the given pods made (other tests and
 * helpers run pods at the same time): `ip -o link` lines naming the pods' host-side interfaces,
 * namespace files and mounts named after them, `iptables-save` lines and host-local IPAM
 * reservations carrying their UUIDs.
 */
export function netLeftovers(uuids: readonly string[], hostIfaces: readonly string[], netnsDir: string, ipamDirs: readonly string[] = ['/var/lib/cni/networks/default', '/var/lib/cni/networks/default-restricted']): string[] {
  const found: string[] = [];
  const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
  for (const i of hostIfaces) if (links.split('\n').some((l) => l.split(':')[1]?.trim().split('@')[0] === i)) found.push(`link ${i}`);
  const iptables = execFileSync('iptables-save', [], { encoding: 'utf8' });
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  for (const u of uuids) {
    if (iptables.includes(u)) found.push(`iptables rules of ${u}`);
    if (fs.existsSync(path.join(netnsDir, `capsule-${u}`))) found.push(`netns file of ${u}`);
    if (mounts.includes(`capsule-${u}`)) found.push(`netns mount of ${u}`);
    for (const d of ipamDirs) {
      let names: string[] = [];
      try {
        names = fs.readdirSync(d);
      } catch {
        continue;
      }
      for (const n of names) {
        try {
          if (fs.readFileSync(path.join(d, n), 'utf8').includes(u)) found.push(`IPAM reservation ${d}/${n} of ${u}`);
        } catch {
          /* gone meanwhile */
        }
      }
    }
  }
  return found;
}

/** Host-side interface names of a running pod, from the cached ADD results in its pod dir. */
export function hostIfacesOf(podDir: string): string[] {
  const out: string[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(path.join(podDir, 'net'));
  } catch {
    return out;
  }
  for (const n of names.filter((x) => /^\d+\.json$/.test(x))) {
    const r = JSON.parse(fs.readFileSync(path.join(podDir, 'net', n), 'utf8')) as { result?: { interfaces?: Array<{ name: string; sandbox?: string }> } };
    for (const i of r.result?.interfaces ?? []) if (i.sandbox === undefined) out.push(i.name);
  }
  return out;
}

/** The host's first non-loopback IPv4 address. */
export function hostAddress(): string | null {
  const out = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' });
  const m = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out);
  return m?.[1] ?? null;
}

/** `name:ip4=A.B.C.D` entries of `status`'s `networks=` line. */
export function statusNets(statusOut: string): Record<string, string> {
  const line = /^networks=(.*)$/m.exec(statusOut)?.[1] ?? '';
  const out: Record<string, string> = {};
  for (const e of line.split(', ').filter(Boolean)) {
    const m = /^(.+):ip4=(.*)$/.exec(e);
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}
