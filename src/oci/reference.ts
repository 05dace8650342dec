import { CapsuleError } from '../errors/capsule-error.js';

/**
 * A Docker/OCI image reference, normalized as docker and podman do: a name without a registry is
 * Docker Hub's (`docker.io`, single names under `library/`), a name with neither tag nor digest
 * means `:latest`.
 */
export interface OciReference {
  /** `host[:port]`; Docker Hub is `docker.io` (its API host is registry-1.docker.io). */
  registry: string;
  /** `team/app`, `library/busybox`. */
  repository: string;
  tag?: string;
  /** `sha256:<hex>`. */
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_API = 'registry-1.docker.io';

const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

const bad = (s: string, why: string): CapsuleError => new CapsuleError('invalid-reference', `invalid image reference ${JSON.stringify(s)}: ${why}`);

/**
 * Parses `[REGISTRY[:PORT]/]NAME[:TAG][@DIGEST]` (no `docker://` prefix). The first component is
 * a registry when it has a `.` or `:` or is `localhost`; `defaultRegistry` replaces Docker Hub
 * for names without one (the `defaultRegistry` config key).
 */
export function parseOciReference(s: string, defaultRegistry = DOCKER_HUB): OciReference {
  if (s === '' || s.length > 4096) throw bad(s, 'empty or too long');
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(s, 'digest must be sha256: and 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(s, `invalid tag ${JSON.stringify(tag)}`);
  }
  const parts = rest.split('/');
  let registry = defaultRegistry;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!HOST.test(first)) throw bad(s, `invalid registry ${JSON.stringify(first)}`);
    registry = first;
    parts.shift();
  }
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) throw bad(s, 'repository must be lowercase components separated by "/"');
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (repository.length > 255) throw bad(s, 'repository name longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `registry/repository`: the name images are stored, listed and trusted under. */
export function repositoryName(r: OciReference): string {
  return `${r.registry}/${r.repository}`;
}

/** `registry/repository:tag`, `…@sha256:…`, or both: the reference as a signature claim names it. */
export function formatReference(r: OciReference): string {
  return `${repositoryName(r)}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}
