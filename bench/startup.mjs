#!/usr/bin/env node
// Startup benchmark: `capsule version` and `capsule image list` (empty store) against `node -e 0`,
// alternating, BENCH_STARTUP_ROUNDS rounds (default 30). Target: each median <= 1.3x node's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt, envInt, fmtMs, median, onCleanup, rmrf, run, verdict } from './lib.mjs';

const TARGET = 1.3;

async function main() {
  const rounds = envInt('BENCH_STARTUP_ROUNDS', 30);
  const CAPSULE = ensureBuilt();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-startup-'));
  onCleanup(() => rmrf(tmp));
  const store = path.join(tmp, 'store'); // never created: an empty store
  const cfg = path.join(tmp, 'config');
  fs.mkdirSync(cfg);
  const cases = [
    { key: 'node', label: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
    { key: 'version', label: 'capsule version', cmd: CAPSULE, args: ['version'] },
    { key: 'list', label: 'capsule image list (empty store)', cmd: CAPSULE, args: [`--dir=${store}`, `--local-config=${cfg}`, `--system-config=${cfg}`, 'image', 'list'] },
  ];
  const once = (c) => run(c.cmd, c.args, { timeoutMs: 30_000 }).ms;
  for (const c of cases) for (let i = 0; i < 3; i++) once(c); // warm-up, not counted
  const t = Object.fromEntries(cases.map((c) => [c.key, []]));
  for (let i = 0; i < rounds; i++) {
    // Rotate the order every round so no case always runs right after another.
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(i + j) % cases.length];
      t[c.key].push(once(c));
    }
    await new Promise((resolve) => setImmediate(resolve)); // lets SIGINT/SIGTERM clean up
  }
  // Informational: what `capsule version` runs besides itself.
  let nspawn = null;
  if (fs.existsSync('/usr/bin/systemd-nspawn')) {
    const xs = [];
    for (let i = 0; i < 10; i++) xs.push(run('/usr/bin/systemd-nspawn', ['--version'], { allowFail: true }).ms);
    nspawn = median(xs);
  }
  const m = Object.fromEntries(cases.map((c) => [c.key, median(t[c.key])]));
  const ratio = { version: m.version / m.node, list: m.list / m.node };
  console.log(`startup results (${rounds} rounds each, alternating, medians):`);
  console.log(`  node -e 0:                        ${fmtMs(m.node)}`);
  console.log(`  capsule version:                  ${fmtMs(m.version)}  ratio ${ratio.version.toFixed(2)}x  target <= ${TARGET}x: ${verdict(ratio.version <= TARGET)}`);
  console.log(`  capsule image list (empty store): ${fmtMs(m.list)}  ratio ${ratio.list.toFixed(2)}x  target <= ${TARGET}x: ${verdict(ratio.list <= TARGET)}`);
  if (nspawn !== null) console.log(`  (info) systemd-nspawn --version alone: ${fmtMs(nspawn)}`);
  console.log(`  store dir left empty: ${!fs.existsSync(store) || fs.readdirSync(store).length === 0 ? 'yes' : 'no (image list created files)'}`);
  const result = { rounds, medianMs: m, samplesMs: t, ratio, nspawnVersionMs: nspawn, pass: { version: ratio.version <= TARGET, list: ratio.list <= TARGET } };
  console.log(`BENCH_JSON ${JSON.stringify({ startup: result })}`);
}

try {
  await main();
} catch (e) {
  console.error(`bench/startup: ${e.stack ?? e}`);
  process.exitCode = 1;
}
