import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CapsuleError } from '../../errors/capsule-error.js';
import { readSmallBody, redactUrl, type HttpClient } from '../../fetch/http-client.js';
import type { OciReference } from '../reference.js';
import type { Sha256Digest } from '../types.js';
import { MAX_SIGNED_MESSAGE } from '../../verify/signed-message.js';

/** More signatures than this for one manifest are not read (a store that never says 404 cannot hold a pull forever). */
export const MAX_LOOKASIDE_SIGNATURES = 16;

/**
 * containers' lookaside layout: `<base>/<repository>@sha256=<hex>/signature-N`, N from 1 until
 * the first that does not exist. The repository is the path without the registry host
 * (`library/busybox` for docker.io/library/busybox).
 */
export function signatureUrl(base: string, ref: OciReference, digest: Sha256Digest, n: number): string {
  return `${base}/${ref.repository}@${digest.replace(':', '=')}/signature-${n}`;
}

/** Every signature the lookaside store holds for `digest` (none is an empty list, not an error). */
export async function readLookaside(base: string, ref: OciReference, digest: Sha256Digest, http: () => HttpClient): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let n = 1; n <= MAX_LOOKASIDE_SIGNATURES; n++) {
    const url = signatureUrl(base, ref, digest, n);
    const got = url.startsWith('file:') ? readFile(url) : await readHttp(http(), url);
    if (got === undefined) break;
    out.push(got);
  }
  return out;
}

function readFile(url: string): Buffer | undefined {
  const p = fileURLToPath(url);
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) throw new CapsuleError('signature', `${p} is not a regular file`);
    if (st.size > MAX_SIGNED_MESSAGE) throw new CapsuleError('signature', `${p} is larger than ${MAX_SIGNED_MESSAGE} bytes`);
    return fs.readFileSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    if (e instanceof CapsuleError) throw e;
    throw new CapsuleError('signature', `reading signature ${p}`, { cause: e });
  }
}

async function readHttp(http: HttpClient, url: string): Promise<Buffer | undefined> {
  const res = await http.get(url);
  if (res.status === 404) {
    await res.dump();
    return undefined;
  }
  if (res.status !== 200) {
    await res.dump();
    throw new CapsuleError('signature', `getting signature ${redactUrl(url)}: HTTP ${res.status}`);
  }
  return readSmallBody(res, MAX_SIGNED_MESSAGE, `signature ${redactUrl(url)}`);
}
