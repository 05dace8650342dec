#!/usr/bin/env node
// HTTPS fetch benchmark: the ~100 MB signed gzip ACI of bench/fetch.mjs served over HTTPS on
// 127.0.0.1 (bench/https-server.mjs, certificate from a throwaway test CA), fetched into fresh
// dirs on tmpfs by
//   A  capsule fetch https://127.0.0.1:PORT/big.aci        (CA via NODE_EXTRA_CA_CERTS)
//   B  curl + curl (.asc) + sha512sum + gpg --verify + tar -xzf   (the floor)
//   C  systemd-pull tar --verify=signature URL big          (SHA256SUMS + SHA256SUMS.gpg; root only)
//   D  (info) C with --direct (no .tar-URL cache copy)     (BENCH_EXTRA=0 skips it)
// rotating the order for BENCH_ROUNDS rounds (default 5). Targets: median(A)/median(C) <= 0.8,
// Capsule peak RSS <= 150 MB; A/B is reported. See bench/README.md. Env: BENCH_DIR, BENCH_ROUNDS,
// BENCH_EXTRA=0, BENCH_HTTPS_CHECKS=0 (skip the untimed trust checks), BENCH_FETCH_HTTPS_BUDGET_S
// (default 300), BENCH_SYSTEMD_PULL=0 (skip C/D).
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BENCH_DIR, HAS_GNU_TIME, REPO, TIME, ensureBuilt, envInt, fmtMs, fmtS, gnupgHome, isRoot, median, onCleanup, rmrf, run, scratchTmpfs, sleepMs, verdict,
  alternatingRounds,
} from './lib.mjs';

const TARGET_RATIO_C = 0.8;
const TARGET_RSS_MB = 150;
const INPUT_DIR = path.join(BENCH_DIR, 'input-v1'); // built by bench/fetch.mjs (same INPUT_VERSION)
const PREFIX = 'example.com/bench'; // the image is example.com/bench/big
const PULL_CANDIDATES = ['/lib/systemd/systemd-pull', '/usr/lib/systemd/systemd-pull'];
// systemd-pull verifies SHA256SUMS.gpg with the first of these that exists (systemd 252: /etc, then the vendor file).
const KEYRINGS = ['/etc/systemd/import-pubring.gpg', '/usr/lib/systemd/import-pubring.gpg'];
// The CA bundle Debian's libcurl (OpenSSL flavour) is built to read; other distributions' follow.
const CURL_CA_FILES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem'];

const tick = () => new Promise((resolve) => setImmediate(resolve));
const mb = (b) => (b / 1e6).toFixed(1);

/** The cached signed ACI of bench/fetch.mjs; built by running fetch.mjs once (1 round) when missing. */
function ensureInput() {
  const want = ['big.aci', 'big.aci.asc', 'pubkey.asc', 'stamp.json'].map((f) => path.join(INPUT_DIR, f));
  if (!want.every((f) => fs.existsSync(f))) {
    console.error('bench: no cached input yet: building it with bench/fetch.mjs (1 round)');
    run(process.execPath, [path.join(REPO, 'bench', 'fetch.mjs')], {
      env: { ...process.env, BENCH_ROUNDS: '1', BENCH_EXTRA: '0' }, timeoutMs: 900_000, stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (!want.every((f) => fs.existsSync(f))) throw new Error(`bench/fetch.mjs did not leave ${INPUT_DIR}/{big.aci,big.aci.asc,pubkey.asc}`);
  }
  return {
    aci: path.join(INPUT_DIR, 'big.aci'), asc: path.join(INPUT_DIR, 'big.aci.asc'), key: path.join(INPUT_DIR, 'pubkey.asc'),
    stamp: JSON.parse(fs.readFileSync(path.join(INPUT_DIR, 'stamp.json'), 'utf8')),
  };
}

/** A throwaway CA and a server certificate for IP:127.0.0.1 signed by it (EC P-256), made by openssl. */
function makeTls(dir) {
  fs.mkdirSync(dir, { mode: 0o700 });
  const f = (n) => path.join(dir, n);
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'),
    '-days', '2', '-subj', '/CN=Capsule Bench Test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-out', f('server.pem'), '-extfile', f('ext.cnf')]);
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

/** Starts bench/https-server.mjs; resolves with its port. Stopped at cleanup (and it exits when our pipe closes). */
async function startServer(tls, files, logFile) {
  const args = [path.join(REPO, 'bench', 'https-server.mjs'), '--cert', tls.cert, '--key', tls.key, '--log', logFile,
    ...Object.entries(files).map(([u, f]) => `${u}=${f}`)];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      for (let i = 0; i < 20 && spawnSync('kill', ['-0', String(child.pid)]).status === 0; i++) sleepMs(50);
    }
  });
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('https-server did not start within 10 s')), 10_000);
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /LISTENING (\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`https-server exited ${code}`)));
  });
  child.stdout.resume();
  // Let this process exit when main() is done (the 'exit' cleanup then stops the server).
  child.unref();
  child.stdin.unref?.();
  child.stdout.unref?.();
  return { port, pid: child.pid };
}

/**
 * Like lib.mjs timed(), but never throws on a non-zero exit and returns the exit status too:
 * {ms, maxRssKb, cpuS, stdout, stderr, status}. Wall time is taken around the process here.
 */
function timed(cmd, args, opts = {}) {
  const rssFile = path.join(os.tmpdir(), `time-https-${process.pid}.out`);
  const [c, a] = HAS_GNU_TIME ? [TIME, ['-f', '%M %U %S', '-o', rssFile, cmd, ...args]] : [cmd, args];
  const r = run(c, a, { ...opts, allowFail: true });
  let maxRssKb = null;
  let cpuS = null;
  if (HAS_GNU_TIME && fs.existsSync(rssFile)) {
    const lines = fs.readFileSync(rssFile, 'utf8').trim().split('\n');
    const [m, u, s] = lines[lines.length - 1].split(' ').map(Number);
    maxRssKb = m;
    cpuS = u + s;
    fs.rmSync(rssFile, { force: true });
  }
  return { ms: r.ms, maxRssKb, cpuS, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** sha256 of a file, streamed. */
function sha256File(file) {
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha256');
    fs.createReadStream(file, { highWaterMark: 1 << 20 }).on('data', (c) => h.update(c)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

/** Why systemd-pull cannot be measured here, or null when it can. */
function systemdPullBlocker(pull) {
  if (process.env.BENCH_SYSTEMD_PULL === '0') return 'BENCH_SYSTEMD_PULL=0';
  if (!pull) return `systemd-pull not installed (${PULL_CANDIDATES.join(', ')}; Debian package systemd-container)`;
  if (!isRoot()) return 'needs root (it writes its image root as root and its CA bundle/keyring are bound in a private mount namespace)';
  if (spawnSync('unshare', ['-m', 'true']).status !== 0) return '`unshare -m` does not work here (a private mount namespace is how the bench gives systemd-pull its CA and keyring without touching the host)';
  if (!CURL_CA_FILES.some((f) => fs.existsSync(f))) return `no system CA bundle to extend (${CURL_CA_FILES.join(', ')})`;
  if (!KEYRINGS.some((f) => fs.existsSync(f))) return `no import keyring file to bind over (${KEYRINGS.join(', ')})`;
  if (spawnSync('chattr', ['--help']).error) return 'chattr missing (systemd-pull marks its cache dir immutable; it is needed to remove it)';
  return null;
}

/** Removes an image root that systemd-pull left (it sets FS_IMMUTABLE_FL on its .tar-URL cache dir). */
function rmPullRoot(dir) {
  if (!fs.existsSync(dir)) return;
  spawnSync('chattr', ['-R', '-i', dir]);
  rmrf(dir);
}

function countFiles(dir) {
  return Number(run('bash', ['-c', 'find "$1" -type f | wc -l', 'x', dir]).stdout.trim());
}

async function main() {
  const tStart = Date.now();
  const rounds = envInt('BENCH_ROUNDS', 5);
  const budgetMs = envInt('BENCH_FETCH_HTTPS_BUDGET_S', 300) * 1000;
  const extra = process.env.BENCH_EXTRA !== '0';
  const checks = process.env.BENCH_HTTPS_CHECKS !== '0';
  const CAPSULE = ensureBuilt();
  console.log(`capsule: ${CAPSULE}`);
  const input = ensureInput();
  const { aci, asc, key, stamp } = input;
  console.log(`fetch-https bench: ${aci} (gzip ACI ${mb(stamp.gzipBytes)} MB, ${stamp.files} files, ${mb(stamp.randomBytes + stamp.textBytes)} MB of file data)`);

  const scratch = scratchTmpfs('https');
  console.log(`  scratch: ${scratch.kind}`);
  const S = scratch.dir;

  // TLS: a throwaway CA; the server certificate is for IP:127.0.0.1.
  const tls = makeTls(path.join(S, 'tls'));

  // systemd-pull's checksum list, signed with a throwaway Ed25519 key (the bench key's secret half
  // was thrown away when the input was built; same algorithm, so the same verification cost).
  const pullDir = path.join(S, 'pull-files');
  fs.mkdirSync(pullDir);
  const sha256 = await sha256File(aci);
  fs.writeFileSync(path.join(pullDir, 'SHA256SUMS'), `${sha256} *big.aci\n`);
  const signHome = gnupgHome(S);
  const signEnv = { ...process.env, GNUPGHOME: signHome };
  run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Capsule Bench Pull <bench-pull@example.com>', 'ed25519', 'sign', 'never'], { env: signEnv });
  run('gpg', ['--batch', '--yes', '--detach-sign', '--output', path.join(pullDir, 'SHA256SUMS.gpg'), path.join(pullDir, 'SHA256SUMS')], { env: signEnv });
  // A binary export is a keyring in the legacy format gpg --keyring reads.
  fs.writeFileSync(path.join(pullDir, 'import-pubring.gpg'), run('gpg', ['--batch', '--export', 'bench-pull@example.com'], { env: signEnv, encoding: 'buffer' }).stdout);
  run('gpgconf', ['--homedir', signHome, '--kill', 'all'], { allowFail: true });
  // A tiny tarball, only for probing whether systemd-pull honours SSL_CERT_FILE.
  const probeSrc = path.join(S, 'probe-src');
  fs.mkdirSync(path.join(probeSrc, 'rootfs'), { recursive: true });
  fs.writeFileSync(path.join(probeSrc, 'rootfs', 'hello'), 'hello\n');
  run('tar', ['-czf', path.join(pullDir, 'probe.tar.gz'), '-C', probeSrc, 'rootfs']);

  const logFile = path.join(S, 'server.log');
  const server = await startServer(tls, {
    '/big.aci': aci,
    '/big.aci.asc': asc,
    '/SHA256SUMS': path.join(pullDir, 'SHA256SUMS'),
    '/SHA256SUMS.gpg': path.join(pullDir, 'SHA256SUMS.gpg'),
    '/probe.tar.gz': path.join(pullDir, 'probe.tar.gz'),
  }, logFile);
  const URL_ = `https://127.0.0.1:${server.port}/big.aci`;
  console.log(`  server: bench/https-server.mjs pid ${server.pid}, ${URL_} (+ .asc, SHA256SUMS, SHA256SUMS.gpg); CA ${tls.ca}`);

  // --- A: capsule -------------------------------------------------------------------------------
  const cfg = { local: path.join(S, 'local-config'), system: path.join(S, 'system-config'), user: path.join(S, 'user-config') };
  for (const d of Object.values(cfg)) fs.mkdirSync(d);
  const cfgArgs = [`--local-config=${cfg.local}`, `--system-config=${cfg.system}`, `--user-config=${cfg.user}`];
  run(CAPSULE, [`--dir=${path.join(S, 'trust-store')}`, ...cfgArgs, 'trust', '--prefix', PREFIX, '--skip-fingerprint-review', key]);
  const envA = { ...process.env, NODE_EXTRA_CA_CERTS: tls.ca };
  const capsuleFetch = (tag, { env = envA, extraArgs = [], url = URL_ } = {}) => {
    const store = path.join(S, `store-${tag}`);
    try {
      return timed(CAPSULE, [`--dir=${store}`, ...cfgArgs, ...extraArgs, 'fetch', url], { env });
    } finally {
      rmrf(store);
    }
  };
  const runA = (tag) => {
    const r = capsuleFetch(tag);
    if (!/^sha512-[0-9a-f]{32}/.test(r.stdout.trim())) throw new Error(`capsule fetch ${URL_} printed no image ID (exit ${r.status}): ${(r.stdout + r.stderr).trim().slice(-2000)}`);
    return r;
  };

  // --- B: the floor -----------------------------------------------------------------------------
  const floorHome = gnupgHome(S);
  const floorEnv = { ...process.env, GNUPGHOME: floorHome };
  run('gpg', ['--batch', '--quiet', '--import', key], { env: floorEnv });
  const floorScript = path.join(S, 'floor.sh');
  fs.writeFileSync(floorScript, [
    'set -euo pipefail',
    'URL=$1 CA=$2 D=$3',
    'curl -sS --fail --cacert "$CA" -o "$D/big.aci" "$URL"',
    'curl -sS --fail --cacert "$CA" -o "$D/big.aci.asc" "$URL.asc"',
    'sha512sum "$D/big.aci" > /dev/null',
    'gpg --batch --quiet --verify "$D/big.aci.asc" "$D/big.aci" 2> /dev/null',
    'mkdir "$D/x"',
    'tar -xzf "$D/big.aci" -C "$D/x"',
    '',
  ].join('\n'));
  let floorFiles = null;
  const runB = (tag, { count = false } = {}) => {
    const out = path.join(S, `floor-${tag}`);
    fs.mkdirSync(out);
    try {
      const r = timed('bash', [floorScript, URL_, tls.ca, out], { env: floorEnv });
      if (r.status !== 0) throw new Error(`floor script failed (exit ${r.status}): ${r.stderr.trim().slice(-2000)}`);
      if (count) floorFiles = countFiles(path.join(out, 'x'));
      return r;
    } finally {
      rmrf(out);
    }
  };

  // --- C/D: systemd-pull ------------------------------------------------------------------------
  const pull = PULL_CANDIDATES.find((p) => fs.existsSync(p));
  let cBlocker = systemdPullBlocker(pull);
  let pullVersion = null;
  let caVia = null;
  let wrapperMs = null;
  const bundle = path.join(pullDir, 'ca-bundle.crt');
  const curlCa = CURL_CA_FILES.find((f) => fs.existsSync(f));
  const keyrings = KEYRINGS.filter((f) => fs.existsSync(f));
  // In a private mount namespace (unshare -m makes propagation private): bind the bench keyring over
  // the import keyring(s) and, unless SSL_CERT_FILE is enough, system CAs + ours over libcurl's CA
  // bundle. Nothing changes outside that one process tree, so nothing needs restoring, even after kill -9.
  const wrapper = (withCa) => [
    'set -e',
    ...(withCa ? [`mount --bind "$BENCH_CA_BUNDLE" ${curlCa}`] : []),
    ...keyrings.map((k) => `mount --bind "$BENCH_KEYRING" ${k}`),
    'exec "$@"',
  ].join('\n');
  let pullEnv = null;
  let pullWrapper = null;
  if (!cBlocker) {
    pullVersion = run(pull, ['--version'], { allowFail: true }).stdout.split('\n')[0].trim();
    fs.writeFileSync(bundle, `${fs.readFileSync(curlCa, 'utf8')}\n${fs.readFileSync(tls.ca, 'utf8')}`);
    const nsEnv = { ...process.env, BENCH_CA_BUNDLE: bundle, BENCH_KEYRING: path.join(pullDir, 'import-pubring.gpg') };
    // Prefer an environment variable for the CA if systemd-pull's libcurl honours one.
    const probeRoot = path.join(S, 'pull-probe');
    fs.mkdirSync(probeRoot);
    const probe = run(pull, ['tar', '--verify=no', `--image-root=${probeRoot}`, `https://127.0.0.1:${server.port}/probe.tar.gz`, 'probe'], {
      env: { ...process.env, SSL_CERT_FILE: bundle, CURL_CA_BUNDLE: bundle }, allowFail: true, timeoutMs: 60_000,
    });
    rmPullRoot(probeRoot);
    if (probe.status === 0) {
      caVia = 'SSL_CERT_FILE (honoured by its libcurl)';
      pullEnv = { ...nsEnv, SSL_CERT_FILE: bundle, CURL_CA_BUNDLE: bundle };
      pullWrapper = wrapper(false);
    } else {
      const why = (probe.stderr.split('\n').find((l) => /SSL|certificate|Transfer failed/i.test(l)) ?? probe.stderr.trim().split('\n').pop() ?? '').trim();
      caVia = `system CA bundle + test CA bind-mounted over ${curlCa} in a private mount namespace (SSL_CERT_FILE/CURL_CA_BUNDLE are not honoured: "${why}")`;
      pullEnv = nsEnv;
      pullWrapper = wrapper(true);
    }
    // The namespace + bind mounts cost, timed alone (included in C's and D's wall times).
    const w = [];
    for (let i = 0; i < 7; i++) w.push(run('unshare', ['-m', 'sh', '-c', pullWrapper, 'wrap', 'true'], { env: pullEnv }).ms);
    wrapperMs = median(w);
  }
  const runPull = (tag, direct) => {
    const root = path.join(S, `pull-${tag}`);
    fs.mkdirSync(root);
    try {
      const args = ['-m', 'sh', '-c', pullWrapper, 'wrap', pull, 'tar', ...(direct ? ['--direct'] : []), '--verify=signature', `--image-root=${root}`, URL_, 'big'];
      const r = timed('unshare', args, { env: pullEnv });
      if (r.status !== 0 || !fs.existsSync(path.join(root, 'big', 'rootfs'))) {
        throw new Error(`systemd-pull${direct ? ' --direct' : ''} failed (exit ${r.status}): ${r.stderr.trim().slice(-2000)}`);
      }
      r.files = tag === 'warm' ? countFiles(path.join(root, 'big')) : null;
      return r;
    } finally {
      rmPullRoot(root);
    }
  };
  const runC = (tag) => runPull(tag, false);
  const runD = (tag) => runPull(`${tag}-direct`, true);

  // --- warm-up (not counted) ----------------------------------------------------------------------
  let aError = null;
  const warm = [];
  try {
    warm.push(`A ${fmtS(runA('warm').ms)}`);
  } catch (e) {
    aError = e.message;
    console.log(`  A FAILED: ${aError}`);
    console.log('  (continuing with B and C only)');
  }
  await tick();
  warm.push(`B ${fmtS(runB('warm', { count: true }).ms)}`);
  await tick();
  if (!cBlocker) {
    try {
      const r = runC('warm');
      warm.push(`C ${fmtS(r.ms)}`);
      console.log(`  systemd-pull: ${pull} (${pullVersion}); CA: ${caVia}; keyring: bench key bound over ${keyrings.join(' and ')}; namespace+mounts ${fmtMs(wrapperMs)}`);
      console.log(`  files extracted: B ${floorFiles}, C ${r.files} (both count the manifest)`);
    } catch (e) {
      cBlocker = e.message;
    }
  }
  await tick();
  if (cBlocker) console.log(`  C (systemd-pull) skipped: ${cBlocker}`);
  const doD = extra && !cBlocker;
  if (doD) warm.push(`D ${fmtS(runD('warm').ms)}`);
  await tick();
  console.log(`  warm-up (not counted): ${warm.join(', ')}`);

  // --- untimed trust checks (informational) -------------------------------------------------------
  const checkLines = [];
  if (checks && !aError) {
    const noCaEnv = { ...process.env };
    delete noCaEnv.NODE_EXTRA_CA_CERTS;
    await tick();
    const r1 = capsuleFetch('check-noca', { env: noCaEnv });
    const m1 = (r1.stderr.trim().split('\n').pop() ?? '').slice(0, 200);
    checkLines.push(`untrusted CA refused: ${r1.status !== 0 ? `yes (exit ${r1.status}: ${m1})` : 'NO - capsule accepted a certificate from an untrusted CA!'}`);
    fs.mkdirSync(path.join(cfg.local, 'tls.d'));
    fs.copyFileSync(tls.ca, path.join(cfg.local, 'tls.d', 'bench-ca.pem'));
    await tick();
    const r2 = capsuleFetch('check-tlsd', { env: noCaEnv });
    checkLines.push(`CA in <local-config>/tls.d/bench-ca.pem: ${r2.status === 0 ? `accepted (${fmtS(r2.ms)})` : `FAILED (exit ${r2.status}: ${(r2.stderr.trim().split('\n').pop() ?? '').slice(0, 200)})`}`);
    rmrf(path.join(cfg.local, 'tls.d'));
    await tick();
    const r3 = capsuleFetch('check-insecure', { env: noCaEnv, extraArgs: ['--insecure-options=tls'] });
    checkLines.push(`--insecure-options=tls without the CA: ${r3.status === 0 ? `accepted (${fmtS(r3.ms)})` : `FAILED (exit ${r3.status}: ${(r3.stderr.trim().split('\n').pop() ?? '').slice(0, 200)})`}`);
    for (const l of checkLines) console.log(`  check: ${l}`);
  }

  // --- timed rounds ---------------------------------------------------------------------------------
  const res = { A: [], B: [], C: [], D: [] };
  const rss = { A: [], B: [], C: [], D: [] };
  const cpu = { A: [], B: [], C: [], D: [] };
  const runners = { A: runA, B: runB, C: runC, D: runD };
  const base = ['A', 'B', 'C'].filter((w) => (w !== 'A' || !aError) && (w !== 'C' || !cBlocker));
  const load0 = os.loadavg()[0];
  // tStart: the budget counts the set-up and checks too.
  const spent = Date.now() - tStart;
  await alternatingRounds({
    keys: base,
    last: doD ? ['D'] : [],
    rounds,
    budgetMs: Math.max(0, budgetMs - spent),
    runOne: (w, i) => runners[w](i),
    after: async (w, r) => {
      res[w].push(r.ms);
      if (r.maxRssKb !== null) rss[w].push(r.maxRssKb);
      if (r.cpuS !== null) cpu[w].push(r.cpuS);
      await tick();
    },
    onRound: (i, line) => console.log(`  round ${i + 1}: ${line.map(([w, r]) => `${w} ${fmtS(r.ms)}${w === 'A' && r.maxRssKb !== null ? ` (peak RSS ${(r.maxRssKb / 1024).toFixed(0)} MB)` : ''}`).join(', ')}`),
  });
  const load1 = os.loadavg()[0];

  // --- report ---------------------------------------------------------------------------------------
  const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.length ? median(v) : null]));
  const mc = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v.length ? median(v) : null]));
  const ratioB = m.A !== null && m.B !== null ? m.A / m.B : null;
  const ratioC = m.A !== null && m.C !== null ? m.A / m.C : null;
  const ratioD = m.A !== null && m.D !== null ? m.A / m.D : null;
  const peakMb = rss.A.length ? Math.max(...rss.A) / 1024 : null;
  const n = Math.max(...Object.values(res).map((v) => v.length));
  const cpuS = (k) => (mc[k] !== null ? `, CPU ${mc[k].toFixed(2)} s` : '');
  const rssS = (k) => (rss[k].length ? `, peak RSS ${(median(rss[k]) / 1024).toFixed(0)} MB` : '');
  console.log('');
  console.log(`fetch-https results (${n} rounds, medians; CPU = user+sys of the process tree):`);
  console.log(`  A capsule fetch https://…/big.aci:                          ${m.A !== null ? fmtS(m.A) + cpuS('A') : `FAILED: ${aError}`}`);
  console.log(`  B curl ×2 + sha512sum + gpg --verify + tar -xzf:            ${fmtS(m.B)}${cpuS('B')}${rssS('B')}`);
  if (m.C !== null) console.log(`  C systemd-pull tar --verify=signature:                      ${fmtS(m.C)}${cpuS('C')}${rssS('C')}`);
  else console.log(`  C systemd-pull: skipped (${cBlocker})`);
  if (m.D !== null) console.log(`  D (info) systemd-pull tar --direct --verify=signature:      ${fmtS(m.D)}${cpuS('D')}`);
  if (ratioB !== null) console.log(`  ratio A/B: ${ratioB.toFixed(2)}   (per-round median ${median(res.A.map((x, i) => x / res.B[i])).toFixed(2)}; informational)`);
  if (ratioC !== null) console.log(`  ratio A/C: ${ratioC.toFixed(2)}   target <= ${TARGET_RATIO_C}: ${verdict(ratioC <= TARGET_RATIO_C)}   (per-round median ${median(res.A.map((x, i) => x / res.C[i])).toFixed(2)})`);
  else console.log(`  ratio A/C: not measured (${aError ? 'A failed' : cBlocker})`);
  if (ratioD !== null) console.log(`  ratio A/D: ${ratioD.toFixed(2)}   (informational: systemd-pull without its cache copy)`);
  if (peakMb !== null) console.log(`  capsule peak RSS (GNU time %M): max ${peakMb.toFixed(1)} MB, median ${(median(rss.A) / 1024).toFixed(1)} MB   target <= ${TARGET_RSS_MB} MB: ${verdict(peakMb <= TARGET_RSS_MB)}`);
  else if (!aError) console.log('  capsule peak RSS: not measured (GNU time missing: apt-get install time)');
  console.log(`  1-min load average: ${load0.toFixed(2)} before the rounds, ${load1.toFixed(2)} after (${os.cpus().length} cores; the HTTPS server shares them)`);

  // What the clients asked for, and the TLS they negotiated (from the server's log).
  const reqs = fs.readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const byUa = new Map();
  for (const r of reqs) {
    const ua = r.ua.split('/')[0] || '(none)';
    const e = byUa.get(ua) ?? { paths: new Map(), tls: new Set() };
    const k = `${r.path} ${r.status}`;
    e.paths.set(k, (e.paths.get(k) ?? 0) + 1);
    e.tls.add(`${r.protocol} ${r.cipher}`);
    byUa.set(ua, e);
  }
  for (const [ua, e] of byUa) {
    console.log(`  server saw ${ua}: ${[...e.paths].map(([k, c]) => `${k} ×${c}`).join(', ')}; ${[...e.tls].join(', ')}`);
  }
  console.log(`  wall time of this bench: ${((Date.now() - tStart) / 1000).toFixed(0)} s`);

  const result = {
    rounds: n, aMs: res.A, bMs: res.B, cMs: res.C, dMs: res.D, cpuS: mc, medianMs: m,
    ratioB, ratioC, ratioD, peakRssMb: peakMb, aError, cSkipped: cBlocker, checks: checkLines,
    pass: { ratioC: ratioC !== null && ratioC <= TARGET_RATIO_C, rss: peakMb !== null && peakMb <= TARGET_RSS_MB },
    rssMethod: HAS_GNU_TIME ? 'GNU time %M' : null,
  };
  console.log(`BENCH_JSON ${JSON.stringify({ fetchHttps: result })}`);
  if (aError) process.exitCode = 1;
  return result;
}

try {
  await main();
} catch (e) {
  console.error(`bench/fetch-https: ${e.stack ?? e}`);
  process.exitCode = 1;
}
