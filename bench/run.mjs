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
console.log('\n== fetch ==');
const fetch = await runScript('fetch.mjs', LIMIT_MS - (Date.now() - t0) - 10_000);

const v = (ok) => (ok ? 'PASS' : 'MISS');
console.log('\n== summary ==');
const s = startup.json?.startup;
const f = fetch.json?.fetch;
if (s) {
  console.log(`startup  capsule version     ${s.medianMs.version.toFixed(1)} ms vs node ${s.medianMs.node.toFixed(1)} ms = ${s.ratio.version.toFixed(2)}x (<= 1.3x) ${v(s.pass.version)}`);
  console.log(`startup  capsule image list  ${s.medianMs.list.toFixed(1)} ms vs node ${s.medianMs.node.toFixed(1)} ms = ${s.ratio.list.toFixed(2)}x (<= 1.3x) ${v(s.pass.list)}`);
} else console.log(`startup  FAILED (exit ${startup.code})`);
if (f) {
  console.log(`fetch    capsule ${(f.medianAMs / 1000).toFixed(3)} s vs floor ${(f.medianBMs / 1000).toFixed(3)} s = ${f.ratio.toFixed(2)}x (<= 1.0x) ${v(f.pass.ratio)}`);
  console.log(`fetch    capsule peak RSS ${f.peakRssMb === null ? 'not measured' : `${f.peakRssMb.toFixed(1)} MB`} (<= 150 MB) ${v(f.pass.rss)}`);
} else console.log(`fetch    FAILED (exit ${fetch.code})`);
console.log(`total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exitCode = stop ? 130 : startup.code || fetch.code ? 1 : 0;
