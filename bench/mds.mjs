#!/usr/bin/env node
// Metadata service latency: each request on a fresh connection (as the appc ACE validator's
// client makes them, with its 100 ms timeout), against the real `capsule metadata-service`
// answering from its registrations on disk, and, in the same run, a bare Node HTTP server
// answering a fixed body (the floor for any Node service). Medians of BENCH_MDS_ROUNDS (default
// 200) rounds of GET pod/manifest and POST pod/hmac/sign; target: every median under 10 ms
// (a tenth of the clients' budget) and capsule/bare <= 3x. Needs root (the command does).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt, envInt, fmtMs, isRoot, median, REPO, verdict } from './lib.mjs';

const rounds = envInt('BENCH_MDS_ROUNDS', 200);

function request(port, p, body) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const headers = { 'Metadata-Flavor': 'AppContainer', ...(body ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}) };
    const r = http.request({ host: '127.0.0.1', port, path: p, method: body ? 'POST' : 'GET', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`${p}: ${res.statusCode}`))));
    });
    r.on('error', reject);
    r.end(body);
  });
}

async function measure(port, p, body) {
  const ms = [];
  for (let i = 0; i < rounds; i++) ms.push(await request(port, p, body));
  return median(ms);
}

async function main() {
  if (!isRoot()) {
    console.log('mds: skipped (needs root)');
    console.log(`BENCH_JSON ${JSON.stringify({ mds: { skipped: 'needs root' } })}`);
    return;
  }
  ensureBuilt();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-mds-'));
  const root = path.join(dir, 'mds');
  fs.mkdirSync(path.join(root, 'pods'), { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.join(root, 'tokens'), { mode: 0o700 });
  const uuid = crypto.randomUUID();
  const token = crypto.randomBytes(32).toString('base64url');
  const manifest = { acKind: 'PodManifest', acVersion: '0.8.11', apps: [{ name: 'web', image: { id: `sha512-${'a'.repeat(128)}` } }], annotations: [] };
  const reg = { uuid, token, hmacKey: crypto.randomBytes(64).toString('base64'), addresses: [], podManifest: manifest, apps: { web: { imageId: `sha512-${'a'.repeat(128)}`, imageManifest: { acKind: 'ImageManifest', name: 'example.com/web' } } } };
  fs.writeFileSync(path.join(root, 'pods', `${uuid}.json`), JSON.stringify(reg), { mode: 0o600 });
  fs.writeFileSync(path.join(root, 'tokens', token), uuid, { mode: 0o600 });
  const child = spawn(path.join(REPO, 'bin/capsule'), [`--dir=${dir}`, 'metadata-service', '--listen-port=0'], { stdio: ['ignore', 'ignore', 'ignore'] });
  const bare = http.createServer((_q, s) => s.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(manifest)));
  try {
    const svc = path.join(root, 'service.json');
    for (let i = 0; i < 200 && !fs.existsSync(svc); i++) await new Promise((r) => setTimeout(r, 25));
    const { port } = JSON.parse(fs.readFileSync(svc, 'utf8'));
    await new Promise((r) => bare.listen(0, '127.0.0.1', r));
    const barePort = bare.address().port;
    const base = `/${token}/acMetadata/v1`;
    await measure(port, `${base}/pod/uuid`); // warm-up
    await measure(barePort, '/');
    const bareMs = await measure(barePort, '/');
    const manifestMs = await measure(port, `${base}/pod/manifest`);
    const signMs = await measure(port, `${base}/pod/hmac/sign`, 'content=hello');
    const ratio = Math.max(manifestMs, signMs) / bareMs;
    const ok = manifestMs < 10 && signMs < 10 && ratio <= 3;
    console.log(`mds: GET pod/manifest ${fmtMs(manifestMs)}, POST pod/hmac/sign ${fmtMs(signMs)}, bare node http ${fmtMs(bareMs)} (median of ${rounds}, fresh connections)`);
    console.log(`mds: capsule/bare ${ratio.toFixed(2)}x (target <= 3x; clients give up after 100 ms) ${verdict(ok)}`);
    console.log(`BENCH_JSON ${JSON.stringify({ mds: { manifestMs, signMs, bareMs, ratio, ok } })}`);
  } finally {
    child.kill('SIGTERM');
    bare.close();
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
