#!/usr/bin/env node
// OCI registry fetch benchmark: a ~100 MB three-layer OCI image (gzip layers of incompressible
// files, cached under BENCH_DIR) pushed with skopeo to Debian's docker-registry on 127.0.0.1
// (TLS with a throwaway CA), then pulled into fresh dirs on tmpfs by
//   A  capsule fetch --insecure-options=image docker://127.0.0.1:PORT/bench/big:v1
//      (download, sha256 and size checks while streaming, render into the tree store)
//   B  podman --root R --runroot R pull --tls-verify=false  (download and unpack; the baseline)
//   C  skopeo copy --src-tls-verify=false docker://… dir:D  (download only; the floor)
// rotating the order for BENCH_ROUNDS rounds (default 3). Then a second image sharing two of the
// three layers is fetched into A's store: the registry's access log must show only the third
// layer downloaded. Targets: median(A)/median(B) <= 0.8, Capsule peak RSS <= 150 MB.
// Env: BENCH_DIR, BENCH_ROUNDS, BENCH_OCI_MB (approximate image size, default 100), BENCH_PODMAN=0.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR, HAS_GNU_TIME, TIME, alternatingRounds, ensureBuilt, envInt, fmtS, median, onCleanup, rmrf, run, scratchTmpfs, sleepMs, verdict } from './lib.mjs';

const TARGET_RATIO = 0.8;
const TARGET_RSS_MB = 150;
const REGISTRY = '/usr/bin/docker-registry';
const INPUT_VERSION = 'oci-v1';

const mb = (b) => (b / 1e6).toFixed(1);
const sha256 = (b) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

/** A gzip layer of `n` files of `size` pseudo-random bytes under `dir/` (deterministic per seed). */
function makeLayer(work, dir, n, size, seed) {
  const root = path.join(work, `layer-${dir}`);
  rmrf(root);
  fs.mkdirSync(path.join(root, dir), { recursive: true });
  let state = crypto.createHash('sha256').update(String(seed)).digest();
  for (let i = 0; i < n; i++) {
    const parts = [];
    for (let got = 0; got < size; got += 32 * 1024) {
      // AES-CTR keystream: fast incompressible bytes, the same on every machine for a seed.
      const c = crypto.createCipheriv('aes-128-ctr', state.subarray(0, 16), state.subarray(16, 32));
      parts.push(c.update(Buffer.alloc(Math.min(32 * 1024, size - got))));
      state = crypto.createHash('sha256').update(state).digest();
    }
    fs.writeFileSync(path.join(root, dir, `f${i}`), Buffer.concat(parts));
  }
  fs.writeFileSync(path.join(root, dir, 'README'), `layer ${dir}\n`.repeat(1000));
  const tar = path.join(work, `${dir}.tar`);
  run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-cf', tar, '-C', root, dir]);
  rmrf(root);
  const raw = fs.readFileSync(tar);
  const gz = run('gzip', ['-1', '-n', '-c', tar], { encoding: 'buffer', maxBuffer: 1 << 30 }).stdout;
  fs.rmSync(tar);
  return { gz, diffId: sha256(raw) };
}

function writeBlob(layout, bytes) {
  const d = sha256(bytes);
  fs.writeFileSync(path.join(layout, 'blobs', 'sha256', d.slice(7)), bytes);
  return { digest: d, size: bytes.length };
}

/** The cached OCI layout with tags v1 (layers a, b, c) and shared (a, b, d). */
function ensureInput(totalMb) {
  const dir = path.join(BENCH_DIR, `${INPUT_VERSION}-${totalMb}`);
  const stamp = path.join(dir, 'stamp.json');
  if (fs.existsSync(stamp)) return { layout: path.join(dir, 'layout'), stamp: JSON.parse(fs.readFileSync(stamp, 'utf8')) };
  console.error(`bench: building the ${totalMb} MB OCI input in ${dir} (once)`);
  rmrf(dir);
  const layout = path.join(dir, 'layout');
  fs.mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const per = (share) => Math.max(1, Math.round((totalMb * 1e6 * share) / (512 * 1024)));
  const layers = {
    a: makeLayer(dir, 'base', per(0.5), 512 * 1024, 1),
    b: makeLayer(dir, 'libs', per(0.3), 512 * 1024, 2),
    c: makeLayer(dir, 'app', per(0.2), 512 * 1024, 3),
    d: makeLayer(dir, 'app2', 4, 512 * 1024, 4),
  };
  const blobs = Object.fromEntries(Object.entries(layers).map(([k, l]) => [k, { ...writeBlob(layout, l.gz), diffId: l.diffId }]));
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch] ?? process.arch;
  const image = (keys) => {
    const config = writeBlob(layout, Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: keys.map((k) => blobs[k].diffId) } })));
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: keys.map((k) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: blobs[k].digest, size: blobs[k].size })),
    }));
    return { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...writeBlob(layout, manifest) };
  };
  const v1 = image(['a', 'b', 'c']);
  const shared = image(['a', 'b', 'd']);
  const tag = (d, t) => ({ ...d, annotations: { 'org.opencontainers.image.ref.name': t } });
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [tag(v1, 'v1'), tag(shared, 'shared')] }));
  const s = { bytes: blobs.a.size + blobs.b.size + blobs.c.size, layers: { a: blobs.a.digest, b: blobs.b.digest, c: blobs.c.digest, d: blobs.d.digest } };
  fs.writeFileSync(stamp, JSON.stringify(s));
  return { layout, stamp: s };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function makeTls(dir) {
  fs.mkdirSync(dir, { mode: 0o700 });
  const f = (n) => path.join(dir, n);
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'),
    '-days', '2', '-subj', '/CN=Capsule Bench OCI CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-out', f('server.pem'), '-extfile', f('ext.cnf')]);
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

/** docker-registry with filesystem storage under `dir`, access log to `log`; resolves with its host. */
async function startRegistry(dir, tls, log) {
  const port = await freePort();
  const config = path.join(dir, 'registry.yml');
  fs.writeFileSync(config, [
    'version: 0.1', 'log:', '  level: error', '  formatter: text', 'storage:', '  filesystem:', `    rootdirectory: ${path.join(dir, 'storage')}`,
    'http:', `  addr: 127.0.0.1:${port}`, '  secret: bench', '  tls:', `    certificate: ${tls.cert}`, `    key: ${tls.key}`, '',
  ].join('\n'));
  const fd = fs.openSync(log, 'a');
  const child = spawn(REGISTRY, ['serve', config], { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  onCleanup(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
    sleepMs(50);
  }
  child.unref();
  return `127.0.0.1:${port}`;
}

function timed(cmd, args, opts = {}) {
  const rssFile = path.join(os.tmpdir(), `time-oci-${process.pid}.out`);
  const [c, a] = HAS_GNU_TIME ? [TIME, ['-f', '%M %U %S', '-o', rssFile, cmd, ...args]] : [cmd, args];
  const r = run(c, a, opts);
  let maxRssKb = null;
  if (HAS_GNU_TIME) {
    maxRssKb = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').at(-1).split(' ')[0]);
    fs.rmSync(rssFile, { force: true });
  }
  return { ms: r.ms, maxRssKb, stdout: r.stdout };
}

/** Blob GETs the registry logged for `digest` (its access log lines name the request URI). */
function blobGets(log, digest) {
  return fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes(`GET /v2/bench/big/blobs/${digest}`)).length;
}

async function main() {
  const rounds = envInt('BENCH_ROUNDS', 3);
  const totalMb = envInt('BENCH_OCI_MB', 100);
  for (const tool of [REGISTRY, '/usr/bin/skopeo']) if (!fs.existsSync(tool)) throw new Error(`${tool} is needed (scripts/install-deps.sh)`);
  const podman = process.env.BENCH_PODMAN !== '0' && spawnSync('podman', ['--version']).status === 0;
  const CAPSULE = ensureBuilt();
  const { layout, stamp } = ensureInput(totalMb);
  console.log(`fetch-oci bench: ${mb(stamp.bytes)} MB in three gzip layers (${layout}), capsule ${CAPSULE}`);
  const scratch = scratchTmpfs('oci', 8192);
  const S = scratch.dir;
  console.log(`  scratch: ${scratch.kind}`);
  const tls = makeTls(path.join(S, 'tls'));
  const log = path.join(S, 'registry.log');
  const host = await startRegistry(S, tls, log);
  const policy = path.join(S, 'policy.json');
  fs.writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  for (const t of ['v1', 'shared']) run('skopeo', ['--policy', policy, 'copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${t}`, `docker://${host}/bench/big:${t}`]);
  const ref = `${host}/bench/big:v1`;
  console.log(`  registry: docker-registry at https://${host} (access log ${log})`);

  const cfg = path.join(S, 'capsule-config');
  fs.mkdirSync(path.join(cfg, 'tls.d'), { recursive: true });
  fs.copyFileSync(tls.ca, path.join(cfg, 'tls.d', 'bench-ca.pem'));
  const capsuleArgs = (dir) => [`--dir=${dir}`, `--local-config=${cfg}`, `--system-config=${path.join(S, 'no-system-config')}`, '--insecure-options=image', 'fetch', '--pull-policy=update', `docker://${ref}`];

  const tools = {
    A: (i) => {
      const dir = path.join(S, `capsule-${i}`);
      const r = timed(CAPSULE, capsuleArgs(dir));
      if (!/^sha256:[0-9a-f]{64}$/.test(r.stdout.trim())) throw new Error(`capsule fetch printed ${JSON.stringify(r.stdout)}`);
      return { ...r, dir };
    },
    B: (i) => {
      const root = path.join(S, `podman-${i}`);
      const r = timed('podman', ['--root', path.join(root, 'root'), '--runroot', path.join(root, 'run'), 'pull', '-q', '--tls-verify=false', `docker://${ref}`]);
      return { ...r, dir: root, podmanRoot: root };
    },
    C: (i) => {
      const dir = path.join(S, `skopeo-${i}`);
      const r = timed('skopeo', ['--policy', policy, 'copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `dir:${dir}`]);
      return { ...r, dir };
    },
  };
  const order = podman ? ['A', 'B', 'C'] : ['A', 'C'];
  if (!podman) console.log('  podman: not measured (BENCH_PODMAN=0 or not installed)');
  const times = { A: [], B: [], C: [] };
  const rss = [];
  let keep;
  await alternatingRounds({
    keys: order,
    rounds,
    runOne: (k, i) => tools[k](i),
    // Untimed: keep the last Capsule store (for the shared-layer check), drop the others.
    after: (k, r) => {
      times[k].push(r.ms);
      if (k === 'A') {
        rss.push(r.maxRssKb);
        if (keep) rmrf(keep);
        keep = r.dir;
      } else if (r.podmanRoot) {
        spawnSync('podman', ['--root', path.join(r.podmanRoot, 'root'), '--runroot', path.join(r.podmanRoot, 'run'), 'system', 'reset', '-f'], { stdio: 'ignore' });
        rmrf(r.podmanRoot);
      } else rmrf(r.dir);
    },
    onRound: (i) => console.log(`  round ${i + 1}: ${order.map((k) => `${k} ${fmtS(times[k].at(-1))}`).join('  ')}`),
  });

  // Shared layers: the second image into the last Capsule store; only its own layer is downloaded.
  const before = Object.fromEntries(Object.entries(stamp.layers).map(([k, d]) => [k, blobGets(log, d)]));
  run(CAPSULE, [`--dir=${keep}`, `--local-config=${cfg}`, `--system-config=${path.join(S, 'no-system-config')}`, '--insecure-options=image', 'fetch', `docker://${host}/bench/big:shared`]);
  const fetched = Object.fromEntries(Object.entries(stamp.layers).map(([k, d]) => [k, blobGets(log, d) - before[k]]));
  const sharedOk = fetched.a === 0 && fetched.b === 0 && fetched.d === 1;

  const mA = median(times.A);
  const mB = podman ? median(times.B) : NaN;
  const mC = median(times.C);
  const peak = Math.max(...rss.filter((x) => x !== null)) / 1024;
  console.log('');
  console.log(`  A capsule fetch docker://   median ${fmtS(mA)}  (${(stamp.bytes / 1e6 / (mA / 1000)).toFixed(0)} MB/s)`);
  if (podman) console.log(`  B podman pull               median ${fmtS(mB)}`);
  console.log(`  C skopeo copy dir: (floor)  median ${fmtS(mC)}`);
  if (podman) console.log(`  A/B = ${(mA / mB).toFixed(2)}  (target <= ${TARGET_RATIO})  ${verdict(mA / mB <= TARGET_RATIO)}`);
  console.log(`  A/C = ${(mA / mC).toFixed(2)}  (info: download-only floor)`);
  if (HAS_GNU_TIME) console.log(`  Capsule peak RSS ${peak.toFixed(0)} MB  (target <= ${TARGET_RSS_MB})  ${verdict(peak <= TARGET_RSS_MB)}`);
  console.log(`  second image sharing two of three layers: blob GETs base=${fetched.a} libs=${fetched.b} app2=${fetched.d}  ${verdict(sharedOk)}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench: ${e.stack ?? e}`);
    process.exit(1);
  },
);
