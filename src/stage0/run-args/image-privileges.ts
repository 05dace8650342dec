import type { InsecureOption } from '../../config/global-options.js';
import { CapsuleError } from '../../errors/capsule-error.js';
import { DEFAULT_CAPABILITIES } from '../../spec/capabilities.js';
import { CAPSULE_DEFAULT_BLOCKLIST } from '../../spec/seccomp-groups.js';
import type { SeccompPlan } from '../../stage1/contract.js';

/** What an app would get, and which parts of it only the image asked for. */
export interface ImageGrants {
  app: string;
  image: string;
  /** The effective capability set ('all' only with --insecure-options=capabilities). */
  capabilities: readonly string[] | 'all';
  /** The effective seccomp plan (null: no filter). */
  seccomp: SeccompPlan | null;
  /** True when the capability isolator in effect is the image's own (no --caps-retain/--caps-remove, no pod manifest app). */
  capsFromImage: boolean;
  /** The same for seccomp (no --seccomp, no pod manifest app). */
  seccompFromImage: boolean;
  /** Isolator names the image sets that Capsule does not implement (none when a pod manifest app replaced the image's). */
  unsupported: readonly string[];
  insecure: ReadonlySet<InsecureOption>;
}

/**
 * An image's isolators are requests, not grants (issue 12; rkt granted them): a signed image may
 * not give itself capabilities beyond the default set, a seccomp filter that lets through a
 * syscall the default filter blocks, or an isolator Capsule would ignore. The user grants them
 * with the matching flag (--caps-retain naming them, --seccomp), a pod manifest app, or
 * --insecure-options=capabilities / seccomp. Throws one error listing everything asked for.
 */
export function refuseImagePrivileges(g: ImageGrants): void {
  const who = `app ${JSON.stringify(g.app)}: image ${JSON.stringify(g.image)}`;
  if (g.unsupported.length > 0) {
    throw new CapsuleError('image-privileges', `${who} sets isolators Capsule does not support: ${g.unsupported.join(', ')}; refusing to run it without them (give the app in a --pod-manifest without them)`);
  }
  if (g.capsFromImage && g.capabilities !== 'all' && !g.insecure.has('capabilities')) {
    const extra = g.capabilities.filter((c) => !DEFAULT_CAPABILITIES.includes(c));
    if (extra.length > 0) {
      throw new CapsuleError('image-privileges', `${who} asks for capabilities beyond the default set: ${extra.join(', ')}; grant them with --caps-retain=${[...g.capabilities].join(',')} or --insecure-options=capabilities`);
    }
  }
  if (g.seccompFromImage && !g.insecure.has('seccomp')) {
    const letThrough = allowedBeyondDefault(g.seccomp);
    if (letThrough.length > 0) {
      throw new CapsuleError('image-privileges', `${who} asks for a seccomp filter that allows what the default one blocks: ${letThrough.join(', ')}; grant it with --seccomp or --insecure-options=seccomp`);
    }
  }
}

/** The default-blocked syscalls a plan lets through (`all syscalls` for no filter). */
function allowedBeyondDefault(plan: SeccompPlan | null): string[] {
  if (plan === null) return ['all syscalls (@appc.io/all)'];
  const listed = new Set(plan.syscalls);
  return plan.mode === 'remove' ? CAPSULE_DEFAULT_BLOCKLIST.filter((s) => !listed.has(s)) : CAPSULE_DEFAULT_BLOCKLIST.filter((s) => listed.has(s));
}
