import { CapsuleError } from '../errors/capsule-error.js';
import { looksLikeImageId } from '../spec/image-id.js';

/** What an image argument names, classified in rkt's order (ID, file, URL, docker, name). */
export type ImageArg =
  | { kind: 'id'; value: string }
  | { kind: 'file'; path: string }
  | { kind: 'url'; url: string }
  | { kind: 'docker'; ref: string }
  | { kind: 'oci-local'; transport: LocalTransport; path: string; ref: string | undefined }
  | { kind: 'name'; value: string };

/** podman's local image transports (containers/image spellings). */
export type LocalTransport = 'oci' | 'oci-archive' | 'docker-archive';
const LOCAL: readonly string[] = ['oci', 'oci-archive', 'docker-archive'];

/**
 * `oci:PATH[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:NAME:TAG]`: split at the
 * first `:` after the transport, as containers/image does (a path with a `:` cannot be named).
 */
function localArg(transport: LocalTransport, rest: string): ImageArg {
  const colon = rest.indexOf(':');
  const p = colon < 0 ? rest : rest.slice(0, colon);
  const ref = colon < 0 ? undefined : rest.slice(colon + 1);
  if (p === '') throw new CapsuleError('usage', `image argument ${JSON.stringify(`${transport}:${rest}`)} names no path`);
  if (ref === '') throw new CapsuleError('usage', `image argument ${JSON.stringify(`${transport}:${rest}`)} has an empty ${transport === 'docker-archive' ? 'name' : 'tag'} after ":"`);
  return { kind: 'oci-local', transport, path: p, ref };
}

/** Pure classification; `isFile` tells whether a plain argument names an existing regular file. */
export function classifyImageArg(arg: string, isFile: (p: string) => boolean): ImageArg {
  if (arg === '') throw new CapsuleError('usage', 'empty image argument');
  if (looksLikeImageId(arg)) return { kind: 'id', value: arg };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(arg)?.[1]?.toLowerCase();
  if (scheme !== undefined && LOCAL.includes(scheme) && arg.slice(0, scheme.length) === scheme) return localArg(scheme as LocalTransport, arg.slice(scheme.length + 1));
  if (scheme === 'docker') return { kind: 'docker', ref: arg.replace(/^docker:(\/\/)?/i, '') };
  if (scheme !== undefined && arg.slice(scheme.length + 1).startsWith('//')) {
    if (scheme === 'file') return { kind: 'file', path: decodeURIComponent(arg.slice('file://'.length)) };
    if (scheme === 'http' || scheme === 'https') return { kind: 'url', url: arg };
    return { kind: 'name', value: arg };
  }
  if (arg.startsWith('/') || arg.includes('./') || arg.endsWith('.aci') || isFile(arg)) return { kind: 'file', path: arg };
  return { kind: 'name', value: arg };
}
