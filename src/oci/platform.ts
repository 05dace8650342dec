import { UsageError } from '../errors/capsule-error.js';
import type { Descriptor, Platform } from './types.js';

/** What an index entry is chosen by: os, architecture (GOARCH names), optional variant. */
export interface WantedPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips64el: 'mips64le' };

/** The host's platform as Go (and so every index) names it. */
export function hostPlatform(arch: string = process.arch, armVersion: unknown = (process.config.variables as Record<string, unknown>).arm_version): WantedPlatform {
  const architecture = GOARCH[arch] ?? arch;
  const p: WantedPlatform = { os: 'linux', architecture };
  if (architecture === 'arm' && (armVersion === '6' || armVersion === '7' || armVersion === 6 || armVersion === 7)) p.variant = `v${String(armVersion)}`;
  return p;
}

/** `--platform os/arch[/variant]` (podman's flag). */
export function parsePlatform(s: string): WantedPlatform {
  const parts = s.split('/');
  const ok = /^[a-z0-9_.-]+$/;
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !ok.test(p))) throw new UsageError(`invalid --platform ${JSON.stringify(s)} (want os/arch[/variant], e.g. linux/arm64)`);
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] !== undefined ? { variant: parts[2] } : {}) };
}

export function formatPlatform(p: Pick<Platform, 'os' | 'architecture' | 'variant'>): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Variants an architecture has when none is written (arm64 is v8, amd64 v1). */
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8', amd64: 'v1' };

function matches(p: Platform, want: WantedPlatform): boolean {
  if (p.os !== want.os || p.architecture !== want.architecture) return false;
  if (want.variant === undefined) return true;
  return (p.variant ?? DEFAULT_VARIANT[p.architecture]) === want.variant;
}

/** BuildKit's attestation manifests and entries with no platform at all. */
function isUnknown(p: Platform | undefined): boolean {
  return p === undefined || (p.os === 'unknown' && p.architecture === 'unknown');
}

/**
 * The entry of an index to use for `want`: the first whose platform matches (image-spec: "the
 * first matching entry SHOULD be used"), skipping attestation (`unknown/unknown`) entries and
 * media types Capsule does not read. An index whose only readable entry has no platform at all
 * gives that entry. undefined: nothing fits (`offered` lists what there is).
 */
export function choosePlatform(entries: readonly Descriptor[], want: WantedPlatform, readable: (mediaType: string) => boolean): { chosen: Descriptor | undefined; offered: string[] } {
  const usable = entries.filter((d) => readable(d.mediaType));
  const chosen = usable.find((d) => d.platform !== undefined && !isUnknown(d.platform) && matches(d.platform, want));
  if (chosen) return { chosen, offered: [] };
  const withoutPlatform = usable.filter((d) => d.platform === undefined);
  if (withoutPlatform.length === 1 && usable.length === 1) return { chosen: withoutPlatform[0], offered: [] };
  const offered = [...new Set(usable.filter((d) => !isUnknown(d.platform)).map((d) => formatPlatform(d.platform!)))];
  return { chosen: undefined, offered };
}
