import { CapsuleError } from '../../errors/capsule-error.js';
import type { BasicCredentials } from '../../config/auth.js';
import type { HttpClient } from '../../fetch/http-client.js';
import { parseChallenges, type Challenge } from './www-authenticate.js';
import { requestToken, type BearerToken } from './registry-token.js';

/** A token this close to its end is renewed before use rather than sent to fail. */
const EXPIRY_MARGIN_MS = 5_000;

/**
 * The Authorization one registry repository wants, learnt from its challenges: nothing (an open
 * registry), Basic with the dockerAuth credentials, or a Bearer token for
 * `repository:<name>:pull`, fetched from the challenge's realm, renewed when it expires or when
 * the registry answers 401 to it mid-pull. The header is handed to the HTTP client as
 * `credentials`, which it drops on redirects to other hosts.
 */
export class RegistryAuth {
  private challenge: Challenge | undefined;
  private token: BearerToken | undefined;

  constructor(
    private readonly http: HttpClient,
    private readonly o: {
      repository: string;
      credentials: BasicCredentials | undefined;
      /** `registry/repository`, for messages. */
      what: string;
      now: () => number;
    },
  ) {}

  /** Headers for the next request (renews an expired token first). */
  async headers(): Promise<Record<string, string>> {
    const c = this.challenge;
    if (!c) return {};
    if (c.scheme === 'basic') return this.basic();
    if (!this.token || this.token.expiresAt - EXPIRY_MARGIN_MS <= this.o.now()) await this.renew();
    return { authorization: `Bearer ${this.token!.token}` };
  }

  /**
   * The registry answered 401 with `header` (its WWW-Authenticate) to the `attempt`th try of a
   * request (0 first). Returns true when one retry can succeed: the challenge is learnt (a
   * Bearer token is fetched or renewed: it may have expired on the registry's clock mid-pull).
   * False on a second 401 for the same request: the credentials or the fresh token were refused.
   */
  async unauthorized(header: string | undefined, attempt: number): Promise<boolean> {
    if (attempt > 0) return false;
    if (header === undefined || header === '') throw new CapsuleError('registry-auth', `${this.o.what}: the registry answered 401 without a WWW-Authenticate challenge`);
    this.challenge = pickChallenge(parseChallenges(header), this.o.what);
    if (this.challenge.scheme === 'basic') {
      if (!this.o.credentials) throw new CapsuleError('registry-auth', `${this.o.what}: the registry asks for a user name and password`, { hint: 'add a dockerAuth entry for this registry in <config>/auth.d/' });
      return true;
    }
    await this.renew();
    return true;
  }

  private async renew(): Promise<void> {
    const c = this.challenge!;
    this.token = await requestToken(this.http, { challenge: c, scopes: [`repository:${this.o.repository}:pull`], credentials: this.o.credentials, what: this.o.what, now: this.o.now });
  }

  private basic(): Record<string, string> {
    const c = this.o.credentials!;
    return { authorization: `Basic ${Buffer.from(`${c.user}:${c.password}`, 'utf8').toString('base64')}` };
  }

  /** Learns the challenge from the /v2/ ping, so the first real request already carries a token. */
  async learn(header: string | undefined): Promise<void> {
    await this.unauthorized(header, 0);
  }
}

/** Bearer is preferred over Basic (docker's order); another scheme alone is refused by name. */
function pickChallenge(cs: Challenge[], what: string): Challenge {
  const bearer = cs.find((c) => c.scheme === 'bearer');
  if (bearer) return bearer;
  const basic = cs.find((c) => c.scheme === 'basic');
  if (basic) return basic;
  throw new CapsuleError('registry-auth', `${what}: the registry asks for authentication schemes Capsule does not speak (${cs.map((c) => c.scheme).join(', ') || 'none'}); Bearer and Basic are supported`);
}
