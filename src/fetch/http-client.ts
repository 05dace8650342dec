import { createRequire } from 'node:module';
import type * as Undici from 'undici';
import type { Agent, Dispatcher } from 'undici';
import { CapsuleError } from '../errors/capsule-error.js';

/** undici is loaded on first use: starting a pod from the store must not pay for it. */
let undiciModule: typeof Undici | undefined;
function undici(): typeof Undici {
  undiciModule ??= createRequire(import.meta.url)('undici') as typeof Undici;
  return undiciModule;
}

/** Headers to add for a host (credentials from auth.d); never consulted for another host. */
export type HostHeaders = (host: string) => Record<string, string>;

export interface HttpClientOptions {
  /** CA certificates (PEM) to trust; see tls-trust.ts. */
  ca: string[];
  /** --insecure-options=tls: accept any certificate. */
  insecureTls: boolean;
  /** --insecure-options=http: allow plain http:// URLs. */
  allowHttp: boolean;
  authHeaders: HostHeaders;
  maxRedirects?: number;
  userAgent?: string;
}

export interface HttpRequest {
  headers?: Record<string, string>;
  method?: 'GET' | 'HEAD';
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** The URL that answered, after redirects. */
  url: string;
  body: AsyncIterable<Buffer>;
  /** Discards the body (closes the connection's stream). */
  dump(): Promise<void>;
}

/** Removes user:password from a URL for messages (credentials are never printed). */
export function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    if (url.username || url.password) {
      url.username = '';
      url.password = '';
    }
    return url.toString();
  } catch {
    return u.replace(/\/\/[^/@]*@/, '//');
  }
}

function headerMap(h: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/**
 * An HTTPS client with Capsule's rules: certificates checked against the configured CAs (or not
 * at all with --insecure-options=tls), http:// only with --insecure-options=http, redirects
 * followed by hand (at most 10, never from https to http), and credentials sent only to the host
 * the request was made for.
 */
export class HttpClient {
  private readonly agent: Agent;
  private readonly maxRedirects: number;

  constructor(private readonly o: HttpClientOptions) {
    this.agent = new (undici().Agent)({ connect: { ca: o.ca, rejectUnauthorized: !o.insecureTls }, keepAliveTimeout: 1000 });
    this.maxRedirects = o.maxRedirects ?? 10;
  }

  async get(rawUrl: string, req: HttpRequest = {}): Promise<HttpResponse> {
    let url = parseUrl(rawUrl);
    this.checkScheme(url, undefined);
    const firstHost = url.host;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.o.userAgent ?? 'capsule', ...req.headers };
      if (url.host === firstHost) Object.assign(headers, this.o.authHeaders(url.host));
      if (url.username || url.password) {
        if (url.host === firstHost) headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
        url = new URL(url.toString());
        url.username = '';
        url.password = '';
      }
      let res: Dispatcher.ResponseData;
      try {
        res = await undici().request(url, { method: req.method ?? 'GET', headers, dispatcher: this.agent, maxRedirections: 0 });
      } catch (e) {
        const tlsProblem = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(String((e as NodeJS.ErrnoException).code ?? ''));
        throw new CapsuleError('http', `${req.method ?? 'GET'} ${redactUrl(url.toString())}`, {
          cause: e,
          ...(tlsProblem ? { hint: 'trust its CA with NODE_EXTRA_CA_CERTS or a .pem in <config>/tls.d/, or pass --insecure-options=tls' } : {}),
        });
      }
      if ([301, 302, 303, 307, 308].includes(res.statusCode)) {
        await res.body.dump();
        const loc = headerMap(res.headers).location;
        if (!loc) throw new CapsuleError('http', `${redactUrl(url.toString())} answered ${res.statusCode} without a Location`);
        if (hop + 1 > this.maxRedirects) throw new CapsuleError('http', `too many redirects fetching ${redactUrl(rawUrl)}`);
        const next = new URL(loc, url);
        this.checkScheme(next, url);
        url = next;
        continue;
      }
      const body = res.body;
      return {
        status: res.statusCode,
        headers: headerMap(res.headers),
        url: url.toString(),
        body: body as AsyncIterable<Buffer>,
        dump: () => body.dump(),
      };
    }
  }

  private checkScheme(url: URL, from: URL | undefined): void {
    if (url.protocol === 'https:') return;
    if (url.protocol === 'http:') {
      if (from?.protocol === 'https:') throw new CapsuleError('http', `refusing redirect from ${redactUrl(from.toString())} to plain http ${redactUrl(url.toString())}`);
      if (!this.o.allowHttp) throw new CapsuleError('http', `refusing plain http URL ${redactUrl(url.toString())}`, { hint: 'use https, or pass --insecure-options=http' });
      return;
    }
    throw new CapsuleError('http', `unsupported URL scheme in ${redactUrl(url.toString())}`);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function parseUrl(s: string): URL {
  try {
    return new URL(s);
  } catch {
    throw new CapsuleError('http', `invalid URL ${JSON.stringify(redactUrl(s))}`);
  }
}

/** Reads a small body completely, refusing more than `max` bytes. */
export async function readSmallBody(res: HttpResponse, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.body) {
      n += c.length;
      if (n > max) {
        await res.dump().catch(() => undefined);
        throw new CapsuleError('http', `${what} is larger than ${max} bytes`);
      }
      parts.push(c);
    }
  } catch (e) {
    // undici's body errors (connection closed, length mismatch) are the network's, not bugs.
    if (e instanceof CapsuleError) throw e;
    throw new CapsuleError('http', `reading ${what} from ${redactUrl(res.url)} broke off after ${n} bytes`, { cause: e });
  }
  return Buffer.concat(parts);
}
