#!/usr/bin/env node
// Fetch benchmark: `capsule fetch` of a ~100 MB signed gzip ACI into a fresh store on tmpfs (A)
// against the floor pipeline `sha512sum` + `gpg --verify` + `tar -xzf` on the same file (B),
// alternating for BENCH_ROUNDS rounds. Targets: median(A)/median(B) <= 1.0, Capsule peak RSS <= 150 MB.
// See bench/README.md. Env: BENCH_DIR (cache/work dir), BENCH_ROUNDS (default 5),
// BENCH_EXTRA=0 (skip the informational single-pass floor C), BENCH_FETCH_BUDGET_S (default 420).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BENCH_DIR, HAS_GNU_TIME, ensureBuilt, envInt, fmtS, gnupgHome, median, rmrf, run, scratchTmpfs, timed, verdict,
} from './lib.mjs';

const TARGET_RATIO = 1.0;
const TARGET_RSS_MB = 150;
const INPUT_VERSION = 'v1'; // bump when the generated image changes
const IMAGE_NAME = 'example.com/bench/big';

/** Deterministic sizes and layout (mulberry32); the random file *contents* come from crypto. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega'.split(' ');

/** Repetitive log-like text: compresses roughly 8-10x with gzip -6. */
function textContent(bytes, rnd) {
  const lines = [];
  let len = 0;
  let n = 0;
  while (len < bytes) {
    const w = WORDS[Math.floor(rnd() * WORDS.length)];
    const line = `${String(n).padStart(8, '0')} INFO service.${w} request handled status=200 bytes=${Math.floor(rnd() * 4096)} path=/api/v1/${w}/items\n`;
    lines.push(line);
    len += line.length;
    n++;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

/** Builds (once) the signed ACI and its public key under BENCH_DIR/input-<version>/. */
function prepareInput(CAPSULE) {
  const dir = path.join(BENCH_DIR, `input-${INPUT_VERSION}`);
  const aci = path.join(dir, 'big.aci');
  const want = ['big.aci', 'big.aci.asc', 'pubkey.asc', 'stamp.json'].map((f) => path.join(dir, f));
  if (want.every((f) => fs.existsSync(f))) return { aci, key: path.join(dir, 'pubkey.asc'), stamp: JSON.parse(fs.readFileSync(path.join(dir, 'stamp.json'), 'utf8')), cached: true };

  fs.mkdirSync(BENCH_DIR, { recursive: true });
  const work = fs.mkdtempSync(path.join(BENCH_DIR, `input-${INPUT_VERSION}.tmp-`));
  try {
    const t0 = Date.now();
    const root = path.join(work, 'img', 'rootfs');
    fs.mkdirSync(root, { recursive: true });
    const rnd = prng(20240601);
    const FILES = 3000;
    let randomBytes = 0;
    let textBytes = 0;
    for (let i = 0; i < FILES; i++) {
      const d = path.join(root, 'usr', 'share', `pkg${String(i % 40).padStart(2, '0')}`, `sub${i % 3}`);
      fs.mkdirSync(d, { recursive: true });
      const isRandom = i % 2 === 0;
      // random: 4 KiB..112 KiB (mean ~58 KiB); text: 1 KiB..120 KiB (mean ~60 KiB)
      const size = isRandom ? 4096 + Math.floor(rnd() * 108 * 1024) : 1024 + Math.floor(rnd() * 119 * 1024);
      const data = isRandom ? crypto.randomBytes(size) : textContent(size, rnd);
      fs.writeFileSync(path.join(d, `file${String(i).padStart(4, '0')}.${isRandom ? 'bin' : 'txt'}`), data, { mode: i % 7 === 0 ? 0o755 : 0o644 });
      if (isRandom) randomBytes += size;
      else textBytes += size;
    }
    // A few symlinks and empty files, like a real rootfs has.
    fs.mkdirSync(path.join(root, 'bin'));
    for (let i = 0; i < 20; i++) fs.symlinkSync(`../usr/share/pkg${String(i).padStart(2, '0')}/sub0`, path.join(root, 'bin', `link${i}`));
    fs.mkdirSync(path.join(root, 'etc'));
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(root, 'etc', `empty${i}`), '');
    const arch = { x64: 'amd64', arm64: 'aarch64', ia32: 'i386' }[process.arch] ?? process.arch;
    fs.writeFileSync(path.join(work, 'img', 'manifest'), JSON.stringify({
      acKind: 'ImageManifest', acVersion: '0.8.11', name: IMAGE_NAME,
      labels: [{ name: 'version', value: '1.0.0' }, { name: 'os', value: 'linux' }, { name: 'arch', value: arch }],
      app: { exec: ['/bin/link0'], user: '0', group: '0' },
    }, null, 2));
    const tGen = Date.now();
    const out = path.join(work, 'big.aci');
    run(CAPSULE, ['image', 'build', path.join(work, 'img'), out], { timeoutMs: 300_000 });
    const tBuild = Date.now();
    rmrf(path.join(work, 'img'));

    // Sign with a throwaway Ed25519 key in a temp GNUPGHOME (agent killed at cleanup).
    const home = gnupgHome(work);
    const env = { ...process.env, GNUPGHOME: home };
    run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Capsule Bench <bench@example.com>', 'ed25519', 'sign', 'never'], { env });
    const armored = run('gpg', ['--batch', '--armor', '--export', 'bench@example.com'], { env }).stdout;
    fs.writeFileSync(path.join(work, 'pubkey.asc'), armored);
    run('gpg', ['--batch', '--yes', '--armor', '--detach-sign', '--output', `${out}.asc`, out], { env });
    run('gpgconf', ['--homedir', home, '--kill', 'all'], { allowFail: true });
    rmrf(home);

    const stamp = {
      files: FILES, randomBytes, textBytes, gzipBytes: fs.statSync(out).size,
      generateSeconds: (tGen - t0) / 1000, buildSeconds: (tBuild - tGen) / 1000,
    };
    fs.writeFileSync(path.join(work, 'stamp.json'), JSON.stringify(stamp, null, 2));
    rmrf(dir);
    fs.renameSync(work, dir);
    return { aci, key: path.join(dir, 'pubkey.asc'), stamp, cached: false };
  } catch (e) {
    rmrf(work);
    throw e;
  }
}

/** Lets pending signals (SIGINT/SIGTERM: clean up and exit) run between measurements. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

async function main() {
  const tStart = Date.now();
  const rounds = envInt('BENCH_ROUNDS', 5);
  const budgetMs = envInt('BENCH_FETCH_BUDGET_S', 420) * 1000;
  const extra = process.env.BENCH_EXTRA !== '0';
  const CAPSULE = ensureBuilt();
  console.log(`capsule: ${CAPSULE}`);
  const input = prepareInput(CAPSULE);
  const { aci, key, stamp } = input;
  const mb = (b) => (b / 1e6).toFixed(1);
  console.log(`fetch bench: ${aci} (${input.cached ? 'cached' : 'built now'})`);
  console.log(`  ${stamp.files} files: ${mb(stamp.randomBytes)} MB random + ${mb(stamp.textBytes)} MB text; gzip ACI ${mb(stamp.gzipBytes)} MB`);

  const scratch = scratchTmpfs('fetch');
  console.log(`  scratch: ${scratch.kind}`);
  const S = scratch.dir;
  const localCfg = path.join(S, 'local-config');
  const systemCfg = path.join(S, 'system-config');
  fs.mkdirSync(localCfg);
  fs.mkdirSync(systemCfg);
  // Trust once, outside the timed region (the keystore is not part of the store).
  run(CAPSULE, [`--dir=${path.join(S, 'trust-store')}`, `--local-config=${localCfg}`, `--system-config=${systemCfg}`, 'trust', '--prefix', 'example.com/bench', '--skip-fingerprint-review', key]);
  // The floor's keyring: the same public key imported into a temp GNUPGHOME.
  const home = gnupgHome(S);
  run('gpg', ['--batch', '--quiet', '--import', key], { env: { ...process.env, GNUPGHOME: home } });
  const floorEnv = { ...process.env, GNUPGHOME: home };
  const floorScript = path.join(S, 'floor.sh');
  fs.writeFileSync(floorScript, [
    'set -euo pipefail',
    'sha512sum "$1" > /dev/null',
    'gpg --batch --quiet --verify "$1.asc" "$1" 2> /dev/null',
    'tar -xzf "$1" -C "$2"',
    '',
  ].join('\n'));
  // Informational: the same work as Capsule's single pass, with standard tools.
  const passScript = path.join(S, 'single-pass.sh');
  fs.writeFileSync(passScript, [
    'set -euo pipefail',
    'gpg --batch --quiet --verify "$1.asc" "$1" 2> /dev/null',
    'gzip -dc "$1" | tee "$3" | tee >(sha512sum > /dev/null) | tar -xf - -C "$2"',
    '',
  ].join('\n'));

  const runA = (tag) => {
    const store = path.join(S, `store-${tag}`);
    const r = timed(CAPSULE, [`--dir=${store}`, `--local-config=${localCfg}`, `--system-config=${systemCfg}`, 'fetch', aci], { scratch: os.tmpdir() });
    if (!/^sha512-[0-9a-f]{32}/.test(r.stdout.trim())) throw new Error(`capsule fetch printed no image ID: ${r.stdout} ${r.stderr}`);
    rmrf(store);
    return r;
  };
  const runB = (tag) => {
    const out = path.join(S, `floor-${tag}`);
    fs.mkdirSync(out);
    const r = timed('bash', [floorScript, aci, out], { env: floorEnv, scratch: os.tmpdir() });
    rmrf(out);
    return r;
  };
  const runC = (tag) => {
    const out = path.join(S, `pass-${tag}`);
    fs.mkdirSync(out);
    const r = timed('bash', [passScript, aci, out, path.join(S, `pass-${tag}.tar`)], { env: floorEnv, scratch: os.tmpdir() });
    rmrf(out);
    rmrf(path.join(S, `pass-${tag}.tar`));
    return r;
  };

  // Warm-up (not counted): page cache for the ACI, disk cache for the binaries, lazy mounts.
  const wA = runA('warm');
  await tick();
  const wB = runB('warm');
  await tick();
  console.log(`  warm-up (not counted): A ${fmtS(wA.ms)}, B ${fmtS(wB.ms)}`);

  const A = [];
  const B = [];
  const C = [];
  const rssA = [];
  const rssB = [];
  const cpuA = [];
  const cpuB = [];
  const load0 = os.loadavg()[0];
  for (let i = 0; i < rounds; i++) {
    if (i > 0 && Date.now() - tStart > budgetMs) {
      console.log(`  time budget (${budgetMs / 1000} s) reached: stopping after ${i} rounds`);
      break;
    }
    // Alternate which one goes first, so drift (thermal, page cache) hits both alike.
    const order = i % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
    const line = [];
    for (const which of order) {
      if (which === 'A') {
        const r = runA(i);
        A.push(r.ms);
        if (r.maxRssKb !== null) rssA.push(r.maxRssKb);
        if (r.cpuS !== null) cpuA.push(r.cpuS);
        await tick();
        line.push(`A ${fmtS(r.ms)}${r.maxRssKb !== null ? ` (peak RSS ${(r.maxRssKb / 1024).toFixed(0)} MB)` : ''}`);
      } else {
        const r = runB(i);
        B.push(r.ms);
        if (r.maxRssKb !== null) rssB.push(r.maxRssKb);
        if (r.cpuS !== null) cpuB.push(r.cpuS);
        await tick();
        line.push(`B ${fmtS(r.ms)}`);
      }
    }
    if (extra) {
      const r = runC(i);
      C.push(r.ms);
      await tick();
      line.push(`C ${fmtS(r.ms)}`);
    }
    console.log(`  round ${i + 1}: ${line.join(', ')}`);
  }

  const mA = median(A);
  const mB = median(B);
  const ratio = mA / mB;
  const peakMb = rssA.length ? Math.max(...rssA) / 1024 : null;
  const medPeakMb = rssA.length ? median(rssA) / 1024 : null;
  console.log('');
  console.log(`fetch results (${A.length} rounds, medians):`);
  console.log(`  A capsule fetch (signed, gzip, fresh store): ${fmtS(mA)}`);
  console.log(`  B floor sha512sum + gpg --verify + tar -xzf: ${fmtS(mB)}`);
  if (extra && C.length) console.log(`  C (info) gpg --verify + one gzip -dc | tee blob | sha512sum | tar -x pass: ${fmtS(median(C))}  (A/C ${(mA / median(C)).toFixed(2)})`);
  if (cpuA.length) console.log(`  CPU time (user+sys, medians): A ${median(cpuA).toFixed(2)} s, B ${median(cpuB).toFixed(2)} s (ratio ${(median(cpuA) / median(cpuB)).toFixed(2)}; less sensitive to other load than wall time)`);
  console.log(`  ratio A/B: ${ratio.toFixed(2)}   target <= ${TARGET_RATIO.toFixed(1)}: ${verdict(ratio <= TARGET_RATIO)}   (median of per-round A/B: ${median(A.map((x, i) => x / B[i])).toFixed(2)})`);
  if (peakMb !== null) {
    console.log(`  capsule peak RSS (GNU time %M): max ${peakMb.toFixed(1)} MB, median ${medPeakMb.toFixed(1)} MB   target <= ${TARGET_RSS_MB} MB: ${verdict(peakMb <= TARGET_RSS_MB)}`);
    console.log(`  (floor B peak RSS, largest process: ${(median(rssB) / 1024).toFixed(1)} MB)`);
  } else {
    console.log('  capsule peak RSS: not measured (GNU time missing: apt-get install time)');
  }
  console.log(`  1-min load average: ${load0.toFixed(2)} before the rounds, ${os.loadavg()[0].toFixed(2)} after (2 cores; other load inflates the wall times)`);
  console.log(`  wall time of this bench: ${((Date.now() - tStart) / 1000).toFixed(0)} s`);
  const result = {
    rounds: A.length, aMs: A, bMs: B, cMs: C, cpuAS: cpuA, cpuBS: cpuB, medianAMs: mA, medianBMs: mB, ratio, peakRssMb: peakMb, medianPeakRssMb: medPeakMb,
    rssMethod: HAS_GNU_TIME ? 'GNU time %M' : null, gzipBytes: stamp.gzipBytes,
    pass: { ratio: ratio <= TARGET_RATIO, rss: peakMb !== null && peakMb <= TARGET_RSS_MB },
  };
  console.log(`BENCH_JSON ${JSON.stringify({ fetch: result })}`);
  return result;
}

try {
  await main();
} catch (e) {
  console.error(`bench/fetch: ${e.stack ?? e}`);
  process.exitCode = 1;
}
