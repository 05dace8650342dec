import type * as Http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { handleMds, MAX_BODY, TEXT_TYPE, type MdsRequest } from './mds-routes.js';
import { diskLookup, serviceFile, writeServiceInfo } from './mds-store.js';
import fs from 'node:fs';

/** rkt's port. */
export const DEFAULT_MDS_PORT = 18112;

export interface MdsServerOptions {
  /** The registrations' directory (mdsRoot(dataDir)). */
  root: string;
  /** TCP port to listen on (0: any free one); ignored with listenFd. */
  port: number;
  /** Address to listen on; all of the host's by default (pods reach it on their networks' host side). */
  host?: string;
  /** A listening socket handed over by systemd (socket activation: fd 3). */
  listenFd?: number;
  log: (line: string) => void;
}

export interface MdsServer {
  port: number;
  close(): Promise<void>;
}

/** The socket systemd passed (LISTEN_FDS/LISTEN_PID), or undefined when not socket-activated. */
export function activationFd(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  if (env.LISTEN_FDS === undefined) return undefined;
  if (env.LISTEN_PID !== undefined && env.LISTEN_PID !== String(pid)) return undefined;
  const n = Number(env.LISTEN_FDS);
  if (!Number.isInteger(n) || n < 1) throw new Error(`LISTEN_FDS=${env.LISTEN_FDS}: want at least one socket`);
  return 3;
}

const unmap = (a: string | undefined): string => (a?.startsWith('::ffff:') ? a.slice(7) : (a ?? ''));

/**
 * The metadata service: answers from the registrations on disk (read per request, so pods
 * registered or removed meanwhile count at once), writes service.json while it listens.
 */
export async function startMdsServer(o: MdsServerOptions): Promise<MdsServer> {
  const lookup = diskLookup(o.root);
  // node:http is loaded here, not by a static import: every capsule command loads this bundle.
  const http = createRequire(import.meta.url)('node:http') as typeof Http;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY && !refused) {
        refused = true;
        res.writeHead(413, { 'Content-Type': TEXT_TYPE, Connection: 'close' }).end('request body too large\n');
        req.destroy();
      } else if (!refused) chunks.push(c);
    });
    req.on('end', () => {
      if (refused) return;
      const r: MdsRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), remoteAddress: unmap(req.socket.remoteAddress) };
      let out;
      try {
        out = handleMds(r, lookup);
      } catch (e) {
        o.log(`error: ${(e as Error).message}`);
        out = { status: 500, headers: { 'Content-Type': TEXT_TYPE }, body: 'internal error\n' };
      }
      res.writeHead(out.status, { ...out.headers, 'Content-Length': String(Buffer.byteLength(out.body)) });
      res.end(req.method === 'HEAD' ? undefined : out.body);
      o.log(`${r.remoteAddress} ${r.method} ${r.url.replace(/^\/[A-Za-z0-9_-]{43}\//, '/<token>/')} ${out.status}`);
    });
  });
  server.headersTimeout = 5000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (o.listenFd !== undefined) server.listen({ fd: o.listenFd }, resolve);
    else server.listen(o.port, o.host ?? '0.0.0.0', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  writeServiceInfo(o.root, { pid: process.pid, port });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        fs.rmSync(serviceFile(o.root), { force: true });
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
