import { CapsuleError } from '../errors/capsule-error.js';
import { looksLikeImageId } from '../spec/image-id.js';

/** What an image argument names, classified in rkt's order (ID, file, URL, docker, name). */
export type ImageArg =
  | { kind: 'id'; value: string }
  | { kind: 'file'; path: string }
  | { kind: 'url'; url: string }
  | { kind: 'docker'; ref: string }
  | { kind: 'name'; value: string };

/** Pure classification; `isFile` tells whether a plain argument names an existing regular file. */
export function classifyImageArg(arg: string, isFile: (p: string) => boolean): ImageArg {
  if (arg === '') throw new CapsuleError('usage', 'empty image argument');
  if (looksLikeImageId(arg)) return { kind: 'id', value: arg };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(arg)?.[1]?.toLowerCase();
  if (scheme === 'docker') return { kind: 'docker', ref: arg.replace(/^docker:(\/\/)?/i, '') };
  if (scheme !== undefined && arg.slice(scheme.length + 1).startsWith('//')) {
    if (scheme === 'file') return { kind: 'file', path: decodeURIComponent(arg.slice('file://'.length)) };
    if (scheme === 'http' || scheme === 'https') return { kind: 'url', url: arg };
    return { kind: 'name', value: arg };
  }
  if (arg.startsWith('/') || arg.includes('./') || arg.endsWith('.aci') || isFile(arg)) return { kind: 'file', path: arg };
  return { kind: 'name', value: arg };
}
