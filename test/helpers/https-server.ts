import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { CertPair } from './test-ca.js';

/** What the server received (and answered): tests assert on this, not on what the client claims. */
export interface LoggedRequest {
  method: string;
  /** Path without the query. */
  path: string;
  /** Path with the query, as sent. */
  url: string;
  /** Lower-case header names. */
  headers: http.IncomingHttpHeaders;
  /** Status sent (0 while not answered, or when the socket was cut before the head). */
  status: number;
  /** Body bytes written. */
  bytes: number;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, entry: LoggedRequest) => void | Promise<void>;

export interface TestServer {
  /** `https://127.0.0.1:PORT` (or http, or the given host and port; no `:443` for https on 443). */
  origin: string;
  port: number;
  url(pathname: string): string;
  /** Serves `path` (exact, query ignored) or every path matching a RegExp; later routes win. */
  route(path: string | RegExp, handler: Handler): void;
  log: LoggedRequest[];
  /** Logged requests for one path. */
  requests(path: string): LoggedRequest[];
  close(): Promise<void>;
}

export interface ServerOptions {
  /** Certificate and key; plain http without. */
  tls?: CertPair;
  host?: string;
  /** 0 (default) for a random port. */
  port?: number;
}

/** Starts an HTTPS (or HTTP) server on loopback with a route table and a request log. */
export async function startServer(o: ServerOptions = {}): Promise<TestServer> {
  const routes: { match: string | RegExp; handler: Handler }[] = [];
  const log: LoggedRequest[] = [];
  const sockets = new Set<Socket>();
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = req.url ?? '/';
    const entry: LoggedRequest = { method: req.method ?? '', path: url.split('?')[0] ?? url, url, headers: req.headers, status: 0, bytes: 0 };
    log.push(entry);
    countBody(res, entry);
    const r = [...routes].reverse().find((x) => (typeof x.match === 'string' ? x.match === entry.path : x.match.test(entry.path)));
    const handler = r?.handler ?? status(404, 'not found\n');
    Promise.resolve(handler(req, res, entry)).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    });
  };
  const server = o.tls ? https.createServer({ cert: o.tls.cert, key: o.tls.key }, listener) : http.createServer(listener);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = o.tls ? 'https' : 'http';
  const origin = `${scheme}://${host}${port === (o.tls ? 443 : 80) ? '' : `:${port}`}`;
  return {
    origin,
    port,
    url: (p) => `${origin}${p}`,
    route: (match, handler) => void routes.push({ match, handler }),
    log,
    requests: (p) => log.filter((e) => e.path === p),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function countBody(res: http.ServerResponse, entry: LoggedRequest): void {
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => http.ServerResponse;
  const count = (chunk: unknown): void => {
    if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) entry.bytes += Buffer.byteLength(chunk);
  };
  res.write = ((...a: unknown[]) => {
    count(a[0]);
    return write(...a);
  }) as typeof res.write;
  res.end = ((...a: unknown[]) => {
    if (typeof a[0] !== 'function') count(a[0]);
    return end(...a);
  }) as typeof res.end;
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => http.ServerResponse;
  res.writeHead = (...a: unknown[]) => {
    if (typeof a[0] === 'number') entry.status = a[0];
    return writeHead(...a);
  };
}

// ---- Canned handlers -----------------------------------------------------------------------

/** A fixed answer. */
export function status(code: number, body: string | Buffer = '', headers: http.OutgoingHttpHeaders = {}): Handler {
  return (_req, res) => {
    res.writeHead(code, { 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
}

export function redirect(location: string | (() => string), code = 302): Handler {
  return (_req, res) => {
    res.writeHead(code, { location: typeof location === 'string' ? location : location(), 'content-length': 0 });
    res.end();
  };
}

export interface FileOptions {
  etag?: string;
  lastModified?: string;
  cacheControl?: string;
  /** Honour Range (+ If-Range); default true. */
  ranges?: boolean;
  /** Send the body in pieces of `chunk` bytes, `delayMs` apart (a slow server). */
  throttle?: { chunk: number; delayMs: number };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A file with validators: If-None-Match → 304, Range (when If-Range is absent or matches the
 * ETag / Last-Modified) → 206 with Content-Range, otherwise 200 with the whole body.
 */
export function serveFile(body: Buffer | (() => Buffer), o: FileOptions = {}): Handler {
  return async (req, res) => {
    const data = typeof body === 'function' ? body() : body;
    const validators: http.OutgoingHttpHeaders = {};
    if (o.etag) validators.etag = o.etag;
    if (o.lastModified) validators['last-modified'] = o.lastModified;
    if (o.cacheControl) validators['cache-control'] = o.cacheControl;
    if (o.ranges !== false) validators['accept-ranges'] = 'bytes';
    if (o.etag && req.headers['if-none-match'] === o.etag) {
      res.writeHead(304, validators);
      res.end();
      return;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const rangeOk = range && o.ranges !== false && (ifRange === undefined || ifRange === o.etag || ifRange === o.lastModified);
    if (rangeOk) {
      start = Number(range[1]);
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}`, 'content-length': 0 });
        res.end();
        return;
      }
      res.writeHead(206, { ...validators, 'content-length': data.length - start, 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` });
    } else res.writeHead(200, { ...validators, 'content-length': data.length });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const rest = data.subarray(start);
    if (!o.throttle) {
      res.end(rest);
      return;
    }
    for (let i = 0; i < rest.length && !res.destroyed; i += o.throttle.chunk) {
      res.write(rest.subarray(i, i + o.throttle.chunk));
      await sleep(o.throttle.delayMs);
    }
    res.end();
  };
}

/** The nth request gets the nth handler; the last one answers every request after that. */
export function sequence(...handlers: Handler[]): Handler {
  let n = 0;
  return (req, res, entry) => handlers[Math.min(n++, handlers.length - 1)]!(req, res, entry);
}

/**
 * Announces the whole body (with validators, so the client may resume) and cuts the connection
 * after `after` bytes, once they were flushed to the socket.
 */
export function abortAfter(body: Buffer, after: number, headers: http.OutgoingHttpHeaders = {}): Handler {
  return async (_req, res) => {
    res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes', ...headers });
    await new Promise<void>((resolve) => res.write(body.subarray(0, after), () => resolve()));
    await sleep(100);
    res.socket?.destroy();
  };
}

/**
 * A response whose Content-Length is not the body's length, written raw on the socket (Node's
 * server would otherwise correct it): more announced than sent (the connection is then closed),
 * or less.
 */
export function lyingLength(body: Buffer, announced: number): Handler {
  return async (_req, res, entry) => {
    const socket = res.socket;
    if (!socket) return;
    entry.status = 200;
    entry.bytes = body.length;
    res.detachSocket(socket);
    socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${announced}\r\nconnection: close\r\n\r\n`);
    await new Promise<void>((resolve) => socket.write(body, () => resolve()));
    await sleep(100);
    socket.destroy();
  };
}

/** 401 unless the request carries exactly this Authorization header. */
export function requireAuth(authorization: string, inner: Handler, challenge = 'Basic realm="capsule-test"'): Handler {
  return (req, res, entry) => {
    if (req.headers.authorization === authorization) return inner(req, res, entry);
    return status(401, 'unauthorized\n', { 'www-authenticate': challenge })(req, res, entry);
  };
}

export const basicAuthorization = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
