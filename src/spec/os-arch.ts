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
