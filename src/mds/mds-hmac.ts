import crypto from 'node:crypto';

/**
 * The identity endpoint's signature: base64 HMAC-SHA512 under the pod's own key, over the pod's
 * UUID (16 bytes) followed by the content, so a signature names the pod that made it.
 */
export function hmacSign(keyB64: string, uuid: string, content: string): string {
  const h = crypto.createHmac('sha512', Buffer.from(keyB64, 'base64'));
  h.update(Buffer.from(uuid.replace(/-/g, ''), 'hex'));
  h.update(Buffer.from(content, 'utf8'));
  return h.digest('base64');
}

/** Constant-time check of a base64 signature; false for anything malformed. */
export function hmacVerify(keyB64: string, uuid: string, content: string, signatureB64: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureB64)) return false;
  const want = Buffer.from(hmacSign(keyB64, uuid, content), 'base64');
  const got = Buffer.from(signatureB64, 'base64');
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

export function newHmacKey(): string {
  return crypto.randomBytes(64).toString('base64');
}

export function newToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}
