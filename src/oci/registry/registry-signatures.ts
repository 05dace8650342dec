/**
 * The registry signature extension (OpenShift's registry; containers/image's
 * `X-Registry-Supports-Signatures`): `GET /extensions/v2/<name>/signatures/<digest>` answers
 * `{"signatures":[{"version":2,"type":"atomic","name":"<digest>@<id>","content":"<base64>"}]}`.
 * Only the signature blobs are taken from it; they are verified like lookaside ones.
 */
export const MAX_SIGNATURE_LIST = 4 * 1024 * 1024;
/** More signatures than this for one manifest are not read (nothing legitimate has them). */
export const MAX_SIGNATURES = 64;

export function parseSignatureList(body: Buffer): Buffer[] {
  const doc = JSON.parse(body.toString('utf8')) as unknown;
  const list = (doc as { signatures?: unknown } | null)?.signatures;
  if (!Array.isArray(list)) throw new Error('the answer has no "signatures" list');
  const out: Buffer[] = [];
  for (const s of list.slice(0, MAX_SIGNATURES)) {
    const { type, content } = (s ?? {}) as { type?: unknown; content?: unknown };
    if (type !== 'atomic' || typeof content !== 'string') continue;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content)) throw new Error('a signature\'s "content" is not base64');
    out.push(Buffer.from(content, 'base64'));
  }
  return out;
}
