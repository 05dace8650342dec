import type { Agent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import type * as Tls from 'node:tls';
import { createRequire } from 'node:module';
import { CapsuleError } from '../errors/capsule-error.js';

/**
 * node:https and node:http are loaded on first request: starting a pod from the store must not
 * pay for them. (Chosen over undici: ~200 ms less CPU per 100 MB of HTTPS body, measured.)
 */
let httpsModule: typeof Https | undefined;
let httpModule: typeof Http | undefined;
function nodeHttps(): typeof Https {
  httpsModule ??= createRequire(import.meta.url)('node:https') as typeof Https;
  return httpsModule;
}
function nodeHttp(): typeof Http {
  httpModule ??= createRequire(import.meta.url)('node:http') as typeof Http;
  return httpModule;
}

/** A connection silent this long (no response head, no body bytes) is given up (undici's 300 s headers and body timeouts). */
const IDLE_TIMEOUT_MS = 300_000;
/** dump() reads a body to its end (so the connection is reused) only up to this size; a larger one costs a new connection instead. */
const DUMP_READ_MAX = 64 * 1024;

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
  /** Sent on every hop (Accept, Range). */
  headers?: Record<string, string>;
  /**
   * Sent only to the host the request was made for (a registry's Authorization): dropped when a
   * redirect leads to another host or port, as the auth.d headers are.
   */
  credentials?: Record<string, string>;
  method?: 'GET' | 'HEAD';
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** The URL that answered, after redirects. */
  url: string;
  body: AsyncIterable<Buffer>;
  /** Discards the body: read to its end when small (the connection is reused), else the connection is closed. Never throws. */
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

function headerMap(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/**
 * An HTTPS client with Capsule's rules: certificates checked against the configured CAs (or not
 * at all with --insecure-options=tls), http:// only with --insecure-options=http, redirects
 * followed by hand (at most 10, never from https to http), and credentials sent only to the host
 * the request was made for.
 */
export class HttpClient {
  private httpsAgent: Https.Agent | undefined;
  private httpAgent: Agent | undefined;
  private readonly maxRedirects: number;

  constructor(private readonly o: HttpClientOptions) {
    this.maxRedirects = o.maxRedirects ?? 10;
  }

  async get(rawUrl: string, req: HttpRequest = {}): Promise<HttpResponse> {
    let url = parseUrl(rawUrl);
    this.checkScheme(url, undefined);
    const method = req.method ?? 'GET';
    const firstHost = url.host;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.o.userAgent ?? 'capsule', ...req.headers };
      if (url.host === firstHost) Object.assign(headers, this.o.authHeaders(url.host), req.credentials);
      if (url.username || url.password) {
        if (url.host === firstHost) headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
        url = new URL(url.toString());
        url.username = '';
        url.password = '';
      }
      let res: IncomingMessage;
      try {
        res = await this.send(url, method, headers, true);
      } catch (e) {
        const tlsProblem = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(String((e as NodeJS.ErrnoException).code ?? ''));
        throw new CapsuleError('http', `${method} ${redactUrl(url.toString())}`, {
          cause: e,
          ...(tlsProblem ? { hint: 'trust its CA with NODE_EXTRA_CA_CERTS or a .pem in <config>/tls.d/, or pass --insecure-options=tls' } : {}),
        });
      }
      const status = res.statusCode ?? 0;
      const resHeaders = headerMap(res.headers);
      if ([301, 302, 303, 307, 308].includes(status)) {
        await dumpBody(res);
        const loc = resHeaders.location;
        if (!loc) throw new CapsuleError('http', `${redactUrl(url.toString())} answered ${status} without a Location`);
        if (hop + 1 > this.maxRedirects) throw new CapsuleError('http', `too many redirects fetching ${redactUrl(rawUrl)}`);
        const next = new URL(loc, url);
        this.checkScheme(next, url);
        url = next;
        continue;
      }
      return { status, headers: resHeaders, url: url.toString(), body: bodyOf(res), dump: () => dumpBody(res) };
    }
  }

  /**
   * One request; resolves with the response head. A GET or HEAD that fails on a reused keep-alive
   * connection before any answer (the server closed it meanwhile) is sent once more on a new one.
   */
  private send(url: URL, method: string, headers: Record<string, string>, mayRetry: boolean): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      let res: IncomingMessage | undefined;
      // (A header value Node refuses throws here, which rejects the promise.)
      const creq = url.protocol === 'https:' ? nodeHttps().request(url, { method, headers, agent: this.agent('https:') }) : nodeHttp().request(url, { method, headers, agent: this.agent('http:') });
      // A stalled server cannot hold a fetch forever: no bytes for IDLE_TIMEOUT_MS destroys the exchange.
      creq.setTimeout(IDLE_TIMEOUT_MS, () => {
        const e = new Error(`no data from the server for ${IDLE_TIMEOUT_MS / 1000} s`);
        if (res) res.destroy(e);
        else creq.destroy(e);
      });
      creq.on('response', (r) => {
        res = r;
        // Errors after the head are the body's: its reader sees them; unread, they must not crash the process.
        r.on('error', ignore);
        resolve(r);
      });
      // Stays attached for the request's life: a socket error after the head also lands here.
      creq.on('error', (e: NodeJS.ErrnoException) => {
        if (res) return;
        if (mayRetry && creq.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) resolve(this.send(url, method, headers, false));
        else reject(e);
      });
      creq.end();
    });
  }

  /** One keep-alive agent per scheme, made on first use. */
  private agent(scheme: 'https:' | 'http:'): Agent {
    if (scheme === 'http:') return (this.httpAgent ??= new (nodeHttp().Agent)({ keepAlive: true }));
    // One secure context for every connection: building one parses the whole CA list (~40 ms for
    // the system bundle), which the agent would otherwise do for each new socket.
    if (this.httpsAgent) return this.httpsAgent;
    const secureContext = (createRequire(import.meta.url)('node:tls') as typeof Tls).createSecureContext({ ca: this.o.ca });
    return (this.httpsAgent = new (nodeHttps().Agent)({ keepAlive: true, secureContext, rejectUnauthorized: !this.o.insecureTls }));
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

  /** Closes every connection, idle or not, so the process can exit at once. */
  close(): Promise<void> {
    this.httpsAgent?.destroy();
    this.httpAgent?.destroy();
    return Promise.resolve();
  }
}

function ignore(): void {
  /* see the caller */
}

/**
 * The response's bytes as Node delivers them (no copies). A connection closed before the announced
 * length (or the last chunk) makes iteration throw, never end quietly; Node's bare "aborted" is
 * replaced by a message that says what happened. Breaking off iteration destroys the response.
 */
async function* bodyOf(res: IncomingMessage): AsyncGenerator<Buffer> {
  try {
    for await (const c of res) yield c as Buffer;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ECONNRESET' && (e as Error).message === 'aborted') throw new Error('the server closed the connection before the end of the body');
    throw e;
  }
}

/** Discards a body: read to its end when small (the connection is then reused), else the connection is closed. Never throws. */
function dumpBody(res: IncomingMessage): Promise<void> {
  if (res.destroyed || res.readableEnded) return Promise.resolve();
  const length = Number(res.headers['content-length']);
  if (res.headers['content-length'] === undefined || !(length <= DUMP_READ_MAX)) {
    res.destroy();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    res.once('end', resolve).once('close', resolve).once('error', () => resolve());
    res.resume();
  });
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
    // Body errors (connection closed early, stalled) are the network's, not bugs.
    if (e instanceof CapsuleError) throw e;
    throw new CapsuleError('http', `reading ${what} from ${redactUrl(res.url)} broke off after ${n} bytes`, { cause: e });
  }
  return Buffer.concat(parts);
}
