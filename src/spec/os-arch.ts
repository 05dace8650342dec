import { CapsuleError } from '../errors/capsule-error.js';

/** appc's valid os/arch combinations (schema/types ValidOSArch). */
export const VALID_OS_ARCH: Readonly<Record<string, readonly string[]>> = {
  linux: ['amd64', 'i386', 'aarch64', 'aarch64_be', 'armv6l', 'armv7l', 'armv7b', 'ppc64', 'ppc64le', 's390x'],
  freebsd: ['amd64', 'i386', 'arm'],
  darwin: ['x86_64', 'i386'],
};

export function validateOsArch(os: string | undefined, arch: string | undefined): void {
  if (os === undefined) return;
  const arches = VALID_OS_ARCH[os];
  if (!arches) throw new CapsuleError('invalid-manifest', `bad os ${JSON.stringify(os)} (must be one of: ${Object.keys(VALID_OS_ARCH).join(', ')})`);
  if (arch !== undefined && !arches.includes(arch)) throw new CapsuleError('invalid-manifest', `bad arch ${JSON.stringify(arch)} for ${os} (must be one of: ${arches.join(', ')})`);
}

/** The host's appc os and arch labels. */
export function hostOsArch(): { os: string; arch: string } {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'aarch64', ia32: 'i386', ppc64: 'ppc64le', s390x: 's390x', arm: 'armv7l' };
  return { os: process.platform, arch: map[process.arch] ?? process.arch };
}

export interface Platform {
  os: string;
  arch: string;
}

/**
 * An image meant to run here must say so: rkt refuses an app image whose manifest lacks the `os`
 * or `arch` label, or names another os or arch than the host's (stage0 prepareAppImage; its
 * messages). Dependencies are not checked (appc: no labels means os/arch-independent content).
 */
export function checkRunnablePlatform(labels: { os?: string | undefined; arch?: string | undefined }, host: Platform): void {
  const { os, arch } = labels;
  if (os === undefined) throw new CapsuleError('bad-platform', 'missing os label in the image manifest');
  if (arch === undefined) throw new CapsuleError('bad-platform', 'missing arch label in the image manifest');
  if (os !== host.os) throw new CapsuleError('bad-platform', `bad os ${JSON.stringify(os)} (must be one of: ${host.os})`);
  if (arch !== host.arch) throw new CapsuleError('bad-platform', `bad arch ${JSON.stringify(arch)} for ${os} (must be one of: ${host.arch})`);
}
