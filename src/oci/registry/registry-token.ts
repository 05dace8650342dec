import { CapsuleError } from '../../errors/capsule-error.js';
import type { BasicCredentials } from '../../config/auth.js';
import { readSmallBody, redactUrl, type HttpClient } from '../../fetch/http-client.js';
import type { Challenge } from './www-authenticate.js';
import { sanitizeServerText } from './registry-errors.js';

/** A bearer token and when it stops being usable (ms since the epoch, by our clock). */
export interface BearerToken {
  token: string;
  expiresAt: number;
}

/** Token answers are small JSON documents; a larger one is refused unread. */
export const MAX_TOKEN_RESPONSE = 256 * 1024;
/** Docker's and containers/image's floor and default for `expires_in` (seconds). */
export const MIN_TOKEN_LIFETIME_S = 60;

const basic = (c: BasicCredentials): string => `Basic ${Buffer.from(`${c.user}:${c.password}`, 'utf8').toString('base64')}`;

/**
 * The token request URL of a Bearer challenge (distribution's token spec): `realm` with
 * `service` and one `scope` parameter per scope. The realm must be an absolute http(s) URL.
 */
export function tokenUrl(challenge: Challenge, scopes: readonly string[]): URL {
  const realm = challenge.params.realm;
  if (realm === undefined || realm === '') throw new CapsuleError('registry-auth', 'the registry sent a Bearer challenge without a realm');
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new CapsuleError('registry-auth', `the registry's token realm ${JSON.stringify(sanitizeServerText(redactUrl(realm)))} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new CapsuleError('registry-auth', `the registry's token realm ${redactUrl(url.toString())} is not an http(s) URL`);
  if (challenge.params.service !== undefined) url.searchParams.set('service', challenge.params.service);
  for (const s of scopes) url.searchParams.append('scope', s);
  return url;
}

/**
 * Parses a token server's answer: `token` or `access_token` (docker prefers `access_token` when
 * both are there), `expires_in` in seconds (default and floor 60). The lifetime counts from
 * `requestedAt` on our clock, not from the server's `issued_at`: a server clock ahead of ours
 * cannot stretch it. Anything else in the answer is ignored; a token that would let the value
 * add header lines, or an answer that is not this shape, is refused.
 */
export function parseTokenResponse(body: Buffer, requestedAt: number): BearerToken {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new CapsuleError('registry-auth', 'the answer is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CapsuleError('registry-auth', 'the answer is not a JSON object');
  const d = doc as Record<string, unknown>;
  const pick = (k: string): string | undefined => {
    const v = d[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new CapsuleError('registry-auth', `"${k}" in the answer is not a string`);
    return v;
  };
  const token = pick('access_token') ?? pick('token');
  if (token === undefined) throw new CapsuleError('registry-auth', 'the answer has neither "token" nor "access_token"');
  if (token.length > MAX_TOKEN_RESPONSE || !/^[\x21-\x7e]+$/.test(token)) throw new CapsuleError('registry-auth', 'the token holds characters a header cannot carry');
  let lifetime = MIN_TOKEN_LIFETIME_S;
  const e = d.expires_in;
  if (e !== undefined && e !== null) {
    if (typeof e !== 'number' || !Number.isFinite(e)) throw new CapsuleError('registry-auth', '"expires_in" in the answer is not a number');
    lifetime = Math.max(MIN_TOKEN_LIFETIME_S, e);
  }
  return { token, expiresAt: requestedAt + lifetime * 1000 };
}

export interface TokenRequest {
  challenge: Challenge;
  scopes: readonly string[];
  /** dockerAuth credentials of the registry: sent to the realm (as docker and podman do); anonymous without. */
  credentials: BasicCredentials | undefined;
  /** For messages: `127.0.0.1:5000/team/app`. */
  what: string;
  now: () => number;
}

/** Asks the realm for a token; every failure is one line naming the registry and the realm (never a secret). */
export async function requestToken(http: HttpClient, r: TokenRequest): Promise<BearerToken> {
  const url = tokenUrl(r.challenge, r.scopes);
  const where = `getting a registry token for ${r.what} from ${redactUrl(url.origin + url.pathname)}`;
  const requestedAt = r.now();
  let res;
  try {
    res = await http.get(url.toString(), { headers: { accept: 'application/json' }, ...(r.credentials ? { credentials: { authorization: basic(r.credentials) } } : {}) });
  } catch (e) {
    throw new CapsuleError('registry-auth', where, { cause: e });
  }
  if (res.status === 401 || res.status === 403) {
    await res.dump();
    throw new CapsuleError('registry-auth', `${where}: ${r.credentials ? 'the credentials from auth.d were refused' : 'access denied to anonymous users'} (HTTP ${res.status})`, {
      hint: r.credentials ? 'check the dockerAuth entry for this registry in auth.d' : 'add a dockerAuth entry for this registry in <config>/auth.d/',
    });
  }
  if (res.status !== 200) {
    await res.dump();
    throw new CapsuleError('registry-auth', `${where}: HTTP ${res.status}`);
  }
  const body = await readSmallBody(res, MAX_TOKEN_RESPONSE, 'token answer').catch((e: unknown) => {
    throw new CapsuleError('registry-auth', where, { cause: e });
  });
  try {
    return parseTokenResponse(body, requestedAt);
  } catch (e) {
    throw new CapsuleError('registry-auth', `${where}: ${(e as Error).message}`);
  }
}
