#!/usr/bin/env node
// A small static HTTPS server for bench/fetch-https.mjs, run as its own process (the bench's timed
// runs block its own event loop with spawnSync). Serves only the files it is given:
//
//   node bench/https-server.mjs --cert CERT.pem --key KEY.pem [--log FILE] URLPATH=FILE...
//
// Listens on 127.0.0.1 on a random port and prints `LISTENING <port>` on stdout once ready. GET and
// HEAD; 404 for anything not mapped (so clients probing for optional files get a clean miss).
// Exits on SIGTERM/SIGINT, and when its stdin closes (the parent died), so it cannot outlive the
// bench. With --log, each response is appended as one JSON line: path, status, bytes, TLS
// protocol and cipher, milliseconds, user agent.
import fs from 'node:fs';
import https from 'node:https';

const args = process.argv.slice(2);
const files = new Map();
let cert;
let key;
let logFile;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--cert') cert = args[++i];
  else if (a === '--key') key = args[++i];
  else if (a === '--log') logFile = args[++i];
  else if (a.includes('=')) {
    const eq = a.indexOf('=');
    files.set(a.slice(0, eq), a.slice(eq + 1));
  } else {
    console.error(`https-server: unknown argument ${a}`);
    process.exit(2);
  }
}
if (!cert || !key) {
  console.error('https-server: --cert and --key are required');
  process.exit(2);
}

const log = logFile ? fs.openSync(logFile, 'a') : null;
const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), keepAliveTimeout: 5000 }, (req, res) => {
  const t0 = process.hrtime.bigint();
  const pathname = new URL(req.url, 'https://x').pathname;
  let bytes = 0;
  // 'close' fires for every response (after 'finish', or when the client went away first).
  res.once('close', () => {
    if (log === null) return;
    const sock = req.socket;
    fs.writeSync(log, `${JSON.stringify({
      t: Date.now(), method: req.method, path: pathname, status: res.statusCode, bytes, complete: res.writableFinished,
      protocol: sock.getProtocol?.(), cipher: sock.getCipher?.()?.name, ms: Number(process.hrtime.bigint() - t0) / 1e6,
      ua: req.headers['user-agent'] ?? '',
    })}\n`);
  });
  const file = files.get(pathname);
  if ((req.method !== 'GET' && req.method !== 'HEAD') || file === undefined) {
    res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405, { 'content-type': 'text/plain', 'content-length': 10 });
    res.end(req.method === 'HEAD' ? undefined : 'not found\n');
    return;
  }
  let st;
  try {
    st = fs.statSync(file);
  } catch {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': st.size,
    'last-modified': st.mtime.toUTCString(),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const rs = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  rs.on('data', (c) => {
    bytes += c.length;
  });
  rs.on('error', () => res.destroy());
  rs.pipe(res);
});

server.on('tlsClientError', () => {}); // a client rejecting our certificate is not our problem
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
};
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
