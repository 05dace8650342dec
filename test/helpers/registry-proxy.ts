import type http from 'node:http';
import https from 'node:https';
import { startServer, type LoggedRequest, type TestServer } from './https-server.js';
import type { TestCa } from './test-ca.js';
import type { TestRegistry } from './registry.js';

/** What the proxy got back from the registry, buffered (for rewriting answers). */
export interface Upstream {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Decides one request: undefined forwards it untouched (streamed); a function answers instead,
 * and may ask the real registry first (`upstream()`) to rewrite its answer.
 */
export type Intercept = (req: http.IncomingMessage, res: http.ServerResponse, entry: LoggedRequest, upstream: () => Promise<Upstream>) => Promise<void> | void;

export interface RegistryProxy {
  server: TestServer;
  /** `127.0.0.1:PORT`: what clients are pointed at. */
  host: string;
  /** Requests seen, in order (path, headers). */
  log: LoggedRequest[];
  /** Interceptors by path pattern; the last matching one wins; cleared by `reset()`. */
  on(match: RegExp, f: Intercept): void;
  reset(): void;
  close(): Promise<void>;
}

/**
 * An HTTPS reverse proxy (the test CA's certificate) in front of a real docker-registry: every
 * request is logged, and tests make it misbehave the way hostile registries and object stores do
 * (tampered blobs, lying manifests, redirects, cut connections) while the real registry serves
 * the protocol.
 */
export async function startRegistryProxy(ca: TestCa, target: TestRegistry): Promise<RegistryProxy> {
  const server = await startServer({ tls: ca.server });
  let rules: { match: RegExp; f: Intercept }[] = [];
  const send = (req: http.IncomingMessage): Promise<http.IncomingMessage> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: target.host };
      const up = https.request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers, ca: ca.ca.cert }, resolve);
      up.on('error', reject);
      req.pipe(up);
    });
  server.route(/.*/, async (req, res, entry) => {
    const rule = [...rules].reverse().find((r) => r.match.test(entry.path));
    const upstream = async (): Promise<Upstream> => {
      const r = await send(req);
      const parts: Buffer[] = [];
      for await (const c of r) parts.push(c as Buffer);
      return { status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(parts) };
    };
    if (rule) return rule.f(req, res, entry, upstream);
    const r = await send(req);
    // Redirects the registry makes point at itself; the client must keep talking to the proxy.
    const headers = { ...r.headers };
    if (typeof headers.location === 'string') headers.location = headers.location.replace(`//${target.host}`, `//${server.origin.replace(/^https:\/\//, '')}`);
    res.writeHead(r.statusCode ?? 502, headers);
    r.pipe(res);
  });
  return {
    server,
    host: server.origin.replace(/^https:\/\//, ''),
    log: server.log,
    on: (match, f) => void rules.push({ match, f }),
    reset: () => {
      rules = [];
    },
    close: () => server.close(),
  };
}

/** Blob and manifest request paths of a repository, for `on()`. */
export const blobPath = (repo: string, digest?: string): RegExp => new RegExp(`^/v2/${repo}/blobs/${digest ?? 'sha256:[0-9a-f]{64}'}$`);
export const manifestPath = (repo: string, ref?: string): RegExp => new RegExp(`^/v2/${repo}/manifests/${ref ?? '.+'}$`);
