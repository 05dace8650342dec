#!/usr/bin/env node
// Runs every benchmark (each in its own process, so each cleans up after itself) and prints a summary.
// `npm run bench`. Env: see bench/README.md.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const LIMIT_MS = 10 * 60 * 1000; // the whole bench stays under 10 minutes

let current = null;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  // Pass the signal on so the running benchmark unmounts and cleans up, then stop.
  process.on(sig, () => {
    current?.kill(sig);
    process.exitCode = 130;
    stop = true;
  });
}
let stop = false;

function runScript(name, budgetMs) {
  if (stop) return Promise.resolve({ code: 130, json: null });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, name)], { stdio: ['ignore', 'pipe', 'inherit'] });
    current = child;
    let json = null;
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('BENCH_JSON ')) json = JSON.parse(line.slice(11));
        else process.stdout.write(`${line}\n`);
      }
    });
    // SIGTERM lets the script unmount and clean up; it is only sent when the budget is exceeded.
    const timer = setTimeout(() => {
      console.error(`bench: ${name} exceeded ${budgetMs / 1000} s; stopping it`);
      child.kill('SIGTERM');
    }, budgetMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      current = null;
      resolve({ code, json });
    });
  });
}

const t0 = Date.now();
ensureBuilt(); // once; the children get it through BENCH_CAPSULE
console.log('== startup ==');
const startup = await runScript('startup.mjs', 2 * 60 * 1000);
// Pods (root and systemd-nspawn; each prints why it skips otherwise): about 1 minute together.
const skippedPods = { code: 0, json: null, skipped: true };
const pods = process.env.BENCH_PODS === '0';
console.log('\n== pod-run ==');
const podRun = pods ? skippedPods : await runScript('pod-run.mjs', 2 * 60 * 1000);
console.log('\n== pod-resident ==');
const podResident = pods ? skippedPods : await runScript('pod-resident.mjs', 60 * 1000);
console.log('\n== pod-scale ==');
const podScale = pods ? skippedPods : await runScript('pod-scale.mjs', 2 * 60 * 1000);
console.log('\n== fetch ==');
// fetch's rounds stop at their own budget: leave fetch-https its 1.5 minutes plus slack.
process.env.BENCH_FETCH_BUDGET_S ??= String(Math.max(60, Math.min(420, Math.floor((LIMIT_MS - (Date.now() - t0)) / 1000) - 90 - 90)));
const fetch = await runScript('fetch.mjs', LIMIT_MS - (Date.now() - t0) - 10_000);
console.log('\n== fetch-https ==');
// What is left of the 10 minutes (at least 1.5 min); the rounds stop a minute before the hard stop.
const httpsMs = Math.max(90_000, LIMIT_MS - (Date.now() - t0) - 5_000);
process.env.BENCH_FETCH_HTTPS_BUDGET_S ??= String(Math.min(300, Math.floor(httpsMs / 1000) - 60));
const https = process.env.BENCH_HTTPS === '0' ? { code: 0, json: null, skipped: true } : await runScript('fetch-https.mjs', httpsMs);

const v = (ok) => (ok ? 'PASS' : 'MISS');
console.log('\n== summary ==');
const s = startup.json?.startup;
const f = fetch.json?.fetch;
if (s) {
  console.log(`startup  capsule version     ${s.medianMs.version.toFixed(1)} ms vs node ${s.medianMs.node.toFixed(1)} ms = ${s.ratio.version.toFixed(2)}x (<= 1.3x) ${v(s.pass.version)}`);
  console.log(`startup  capsule image list  ${s.medianMs.list.toFixed(1)} ms vs node ${s.medianMs.node.toFixed(1)} ms = ${s.ratio.list.toFixed(2)}x (<= 1.3x) ${v(s.pass.list)}`);
} else console.log(`startup  FAILED (exit ${startup.code})`);
const pr = podRun.json?.podRun;
const pres = podResident.json?.podResident;
const ps = podScale.json?.podScale;
const ms = (x) => `${x.toFixed(1)} ms`;
if (podRun.skipped) console.log('pods     skipped (BENCH_PODS=0)');
else if (pr?.skipped) console.log(`pods     skipped: ${pr.skipped}`);
else if (pr) {
  console.log(`pod-run  capsule run ${ms(pr.medianMs.host)} vs bare nspawn ${ms(pr.medianMs.nspawn)} = ${pr.ratio.nspawn.toFixed(2)}x (<= 2.5x) ${v(pr.pass.nspawn)}`);
  console.log(`pod-run  capsule run vs podman: ${pr.ratio.podman === null ? `not measured (${pr.podman})` : `${ms(pr.medianMs.podman)} = ${pr.ratio.podman.toFixed(2)}x (<= 1.0x) ${v(pr.pass.podman)}`}`);
} else console.log(`pod-run  FAILED (exit ${podRun.code})`);
if (pres && !pres.skipped) {
  console.log(`resident Node processes while a pod runs: ${pres.counts.node} (none) ${v(pres.pass.node)}; Capsule's own ${(pres.medianRssKb.capsule / 1024).toFixed(2)} MB (<= 10 MB) ${v(pres.pass.capsule)}; nspawn ${(pres.medianRssKb.nspawn / 1024).toFixed(2)} MB (info)`);
} else if (!podResident.skipped && !pres) console.log(`resident FAILED (exit ${podResident.code})`);
if (ps && !ps.skipped) {
  const big = ps.sizes[ps.sizes.length - 1];
  console.log(`scale    list at ${big.n} pods ${ms(big.listMs)} (<= 500 ms) ${v(ps.pass.list)}; status ${ms(big.statusMs)}; gc of ${ps.gc.pods} pods ${ms(ps.gc.sweepMs)}`);
} else if (!podScale.skipped && !ps) console.log(`scale    FAILED (exit ${podScale.code})`);
if (f) {
  console.log(`fetch    capsule ${(f.medianAMs / 1000).toFixed(3)} s vs floor ${(f.medianBMs / 1000).toFixed(3)} s = ${f.ratio.toFixed(2)}x (<= 1.0x) ${v(f.pass.ratio)}`);
  console.log(`fetch    capsule peak RSS ${f.peakRssMb === null ? 'not measured' : `${f.peakRssMb.toFixed(1)} MB`} (<= 150 MB) ${v(f.pass.rss)}`);
} else console.log(`fetch    FAILED (exit ${fetch.code})`);
const h = https.json?.fetchHttps;
if (https.skipped) console.log('https    skipped (BENCH_HTTPS=0)');
else if (h && h.medianMs.A !== null) {
  const sec = (ms) => (ms === null ? '-' : `${(ms / 1000).toFixed(3)} s`);
  console.log(`https    capsule ${sec(h.medianMs.A)} vs curl floor ${sec(h.medianMs.B)} = ${h.ratioB.toFixed(2)}x (info); vs systemd-pull ${h.ratioC === null ? `not measured (${h.cSkipped})` : `${sec(h.medianMs.C)} = ${h.ratioC.toFixed(2)}x (<= 0.8x) ${v(h.pass.ratioC)}`}`);
  console.log(`https    capsule peak RSS ${h.peakRssMb === null ? 'not measured' : `${h.peakRssMb.toFixed(1)} MB`} (<= 150 MB) ${v(h.pass.rss)}`);
} else console.log(`https    FAILED (exit ${https.code})${h?.aError ? `: ${h.aError.split('\n')[0]}` : ''}`);
console.log(`total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exitCode = stop ? 130 : startup.code || podRun.code || podResident.code || podScale.code || fetch.code || https.code ? 1 : 0;
