import { parseAcIdentifier } from '../spec/ac-identifier.js';
import { validateImageManifest, type Annotation, type ImageManifest, type Label, type MountPoint, type Port } from '../spec/image-manifest.js';
import { VALID_OS_ARCH } from '../spec/os-arch.js';
import type { OciRunConfig } from '../store/oci-index.js';
import type { ImageConfig } from './manifest.js';
import type { OciReference } from './reference.js';

/** appc spec version of the appc views written here (src/version.ts's APPC_SPEC_VERSION; oci/ may not import it). */
const APPC_SPEC_VERSION = '0.8.11';

/** Go architecture (+ variant) → appc arch label, as docker2aci mapped them. */
function appcArch(arch: string, variant: string | undefined): string | undefined {
  const m: Record<string, string> = { amd64: 'amd64', '386': 'i386', arm64: 'aarch64', ppc64le: 'ppc64le', ppc64: 'ppc64', s390x: 's390x' };
  if (arch === 'arm') return variant === 'v6' ? 'armv6l' : 'armv7l';
  return m[arch];
}

/** `registry/repository` as an AC Identifier (a port's `:` and IPv6 brackets become `-`). */
export function appcName(registry: string, repository: string): string {
  const s = `${registry}/${repository}`.toLowerCase().replace(/[^a-z0-9._~/-]/g, '-').replace(/^-+|-+$/g, '');
  return parseAcIdentifier(s, 'image name');
}

/** `KEY=VALUE` entries; an entry without `=` is dropped, a repeated key keeps its last value (docker). */
export function parseEnv(env: readonly string[]): Array<[string, string]> {
  const m = new Map<string, string>();
  for (const e of env) {
    const eq = e.indexOf('=');
    if (eq <= 0) continue;
    const k = e.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z_0-9.-]*$/.test(k)) continue;
    m.delete(k);
    m.set(k, e.slice(eq + 1));
  }
  return [...m];
}

/** `80/tcp` → `80-tcp` (rkt's names, for `--port 80-tcp:8080`); bare `8080` is tcp. Ranges and junk are skipped. */
export function exposedPorts(ports: Record<string, unknown> | undefined): Port[] {
  const out: Port[] = [];
  for (const key of Object.keys(ports ?? {})) {
    const m = /^([0-9]{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(key);
    if (!m) continue;
    const port = Number(m[1]);
    if (port < 1 || port > 65535) continue;
    const protocol = (m[2] ?? 'tcp').toLowerCase();
    const name = `${port}-${protocol}`;
    if (!out.some((p) => p.name === name)) out.push({ name, protocol, port });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `/var/lib/data` → mount point `volume-var-lib-data` (docker2aci's names); duplicates get `-2`, `-3`…. */
export function volumeMountPoints(vols: Record<string, unknown> | undefined): MountPoint[] {
  const out: MountPoint[] = [];
  const paths = Object.keys(vols ?? {}).filter((p) => p.startsWith('/') && !p.includes('\0') && !p.includes('\n') && !p.split('/').includes('..'));
  for (const p of paths.sort()) {
    const base = `volume-${p.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')}`.replace(/-+$/, '');
    let name = base === 'volume' ? 'volume-root' : base;
    for (let n = 2; out.some((m) => m.name === name); n++) name = `${base}-${n}`;
    out.push({ name, path: p });
  }
  return out;
}

/** Docker labels as annotations, names made AC Identifiers (lower case; other characters `-`). */
function labelAnnotations(labels: Record<string, string> | undefined): Annotation[] {
  const out: Annotation[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    const name = k.toLowerCase().replace(/[^a-z0-9._~/-]/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
    // appc constrains these names' values; a label of that name stays a label only.
    if (name === '' || name === 'created' || name === 'homepage' || name === 'documentation' || name === 'authors') continue;
    try {
      parseAcIdentifier(name);
    } catch {
      continue;
    }
    if (!out.some((a) => a.name === name)) out.push({ name, value: v });
  }
  return out;
}

/**
 * The appc view of an OCI image config (what `run` resolves apps from, as docker2aci mapped it)
 * plus the docker/podman rules the appc app cannot express (Entrypoint and Cmd apart, the raw
 * User, StopSignal). Pure.
 */
export function configToApp(c: ImageConfig, ref: OciReference, imageId: string): { manifest: ImageManifest; run: OciRunConfig } {
  const cc = c.config;
  const entrypoint = cc.Entrypoint ?? [];
  const cmd = cc.Cmd ?? [];
  const user = (cc.User ?? '').trim();
  const [u = '', g] = user.split(':', 2);
  const labels: Label[] = [];
  if (ref.tag !== undefined) labels.push({ name: 'version', value: ref.tag });
  if (c.os !== '' && VALID_OS_ARCH[c.os]) {
    labels.push({ name: 'os', value: c.os });
    const arch = appcArch(c.architecture, c.variant);
    if (arch && VALID_OS_ARCH[c.os]!.includes(arch)) labels.push({ name: 'arch', value: arch });
  }
  const annotations: Annotation[] = [
    { name: 'appc.io/docker/registryurl', value: ref.registry },
    { name: 'appc.io/docker/repository', value: ref.repository },
    { name: 'appc.io/docker/imageid', value: imageId },
    { name: 'appc.io/docker/entrypoint', value: JSON.stringify(entrypoint) },
    { name: 'appc.io/docker/cmd', value: JSON.stringify(cmd) },
  ];
  if (ref.tag !== undefined) annotations.push({ name: 'appc.io/docker/tag', value: ref.tag });
  if (cc.StopSignal) annotations.push({ name: 'appc.io/docker/stopsignal', value: cc.StopSignal });
  if (c.author) annotations.push({ name: 'author', value: c.author });
  if (c.created && /^\d{4}-\d{2}-\d{2}T/.test(c.created) && !Number.isNaN(Date.parse(c.created)) && Date.parse(c.created) > 0) annotations.push({ name: 'created', value: c.created });
  for (const a of labelAnnotations(cc.Labels)) if (!annotations.some((x) => x.name === a.name)) annotations.push(a);
  const wd = cc.WorkingDir && cc.WorkingDir !== '' ? (cc.WorkingDir.startsWith('/') ? cc.WorkingDir : `/${cc.WorkingDir}`) : '/';
  const env = parseEnv(cc.Env ?? []);
  const ports = exposedPorts(cc.ExposedPorts);
  const mountPoints = volumeMountPoints(cc.Volumes);
  const exec = [...entrypoint, ...cmd];
  const app = {
    ...(exec.length > 0 ? { exec } : {}),
    user: u === '' ? '0' : u,
    group: g !== undefined && g !== '' ? g : u === '' ? '0' : u,
    workingDirectory: wd,
    ...(env.length > 0 ? { environment: env.map(([name, value]) => ({ name, value })) } : {}),
    ...(ports.length > 0 ? { ports } : {}),
    ...(mountPoints.length > 0 ? { mountPoints } : {}),
  };
  const manifest = validateImageManifest({
    acKind: 'ImageManifest',
    acVersion: APPC_SPEC_VERSION,
    name: appcName(ref.registry, ref.repository),
    labels,
    app,
    annotations,
  });
  return { manifest, run: { entrypoint, cmd, user, ...(cc.StopSignal ? { stopSignal: cc.StopSignal } : {}) } };
}
