#!/usr/bin/env node
// Pod bookkeeping at scale: `capsule list --no-legend` and `capsule status UUID` with 100, 500 and
// 1,000 exited pods, and `capsule gc --grace-period=0s` of 100 exited pods (after
// `gc --mark-only`). Running 1,000 real pods would take minutes, so ONE real pod is run to
// completion and its exited pod directory is cloned (cp -a) under new random UUIDs, with
// runtime.json's "uuid" rewritten and a fresh pod-created mtime. Target: list <= 0.5 s at 1,000.
// Env: BENCH_POD_SCALE_REPS (default 5: runs of list/status per size; medians).
// Needs root and systemd-nspawn.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { envInt, fmtMs, median, rmrf, run, verdict } from './lib.mjs';
import { cgroupsNamed, loadavg, makePodWorld, podSkipReason, printSkip } from './pod-run.mjs';

const SIZES = [100, 500, 1000];
/** Lets a pending SIGINT/SIGTERM run its handler (cleanup) between synchronous steps. */
const tick = () => new Promise((resolve) => setImmediate(resolve));
const GC_PODS = 100;
const TARGET_LIST_MS = 500;

async function main() {
  const why = podSkipReason();
  if (why) return printSkip('podScale', why);
  const reps = envInt('BENCH_POD_SCALE_REPS', 5);
  const w = makePodWorld('pod-scale');
  const runDir = path.join(w.dir, 'pods', 'run');

  // The one real pod, run to completion; a copy of its exited directory is the template.
  w.cap(['run', '--net=host', w.image, '--exec=/bin/true']);
  const [real] = w.podsIn('run');
  if (!real) throw new Error('the real pod is not in pods/run');
  const template = path.join(w.base, 'template-pod');
  run('cp', ['-a', path.join(runDir, real), template]);
  const rt = JSON.parse(fs.readFileSync(path.join(template, 'runtime.json'), 'utf8'));
  if (rt.uuid !== real) throw new Error(`runtime.json's uuid is ${JSON.stringify(rt.uuid)}, not the pod's ${real}`);
  const files = run('find', [template, '-mindepth', '1']).stdout.trim().split('\n').length;

  let cloneMs = 0;
  /** Adds `n` clones of the template to pods/run/. */
  const clone = async (n) => {
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      if (i % 50 === 49) await tick();
      const u = randomUUID();
      const d = path.join(runDir, u);
      run('cp', ['-a', template, d]);
      const r = JSON.parse(fs.readFileSync(path.join(d, 'runtime.json'), 'utf8'));
      r.uuid = u;
      fs.writeFileSync(path.join(d, 'runtime.json'), JSON.stringify(r));
      const now = new Date();
      fs.utimesSync(path.join(d, 'pod-created'), now, now);
      w.uuids.add(u);
    }
    cloneMs += Date.now() - t0;
  };
  const count = () => w.podsIn('run').length;
  const timedReps = async (args, check) => {
    const xs = [];
    for (let i = 0; i < reps; i++) {
      await tick();
      const r = w.cap(args, { timeoutMs: 60_000 });
      check?.(r);
      xs.push(r.ms);
    }
    return median(xs);
  };
  const node = median(Array.from({ length: reps }, () => run(process.execPath, ['-e', '0']).ms)); // for context

  /** list and status at the current size. */
  const measure = async (n) => {
    const pods = w.podsIn('run').sort();
    const probe = pods[pods.length >> 1];
    const list = await timedReps(['list', '--no-legend'], (r) => {
      const lines = r.stdout.trim().split('\n').filter(Boolean).length;
      if (lines !== n) throw new Error(`capsule list printed ${lines} lines, expected ${n}`);
      if (!r.stdout.includes('exited')) throw new Error(`capsule list shows no exited pod: ${r.stdout.slice(0, 300)}`);
    });
    const status = await timedReps(['status', probe], (r) => {
      if (!r.stdout.includes('state=exited')) throw new Error(`capsule status ${probe}: ${r.stdout}`);
    });
    return { n, listMs: list, statusMs: status };
  };

  const results = [];
  // 100: the real pod and 99 clones; then the gc of those 100.
  await clone(SIZES[0] - 1);
  if (count() !== SIZES[0]) throw new Error(`${count()} pods, expected ${SIZES[0]}`);
  results.push(await measure(SIZES[0]));
  await tick();

  const mark = w.cap(['gc', '--mark-only'], { timeoutMs: 120_000 });
  const marked = w.podsIn('exited-garbage').length;
  if (marked !== GC_PODS || count() !== 0) throw new Error(`gc --mark-only: ${marked} pods in exited-garbage and ${count()} in run, expected ${GC_PODS} and 0`);
  w.remember();
  const sweep = w.cap(['gc', '--grace-period=0s'], { timeoutMs: 120_000 });
  const afterGc = w.allPods().length;
  if (afterGc !== 0) throw new Error(`gc left ${afterGc} pods`);
  const realCgroupsAfterGc = cgroupsNamed(real);

  // 500 and 1,000: clones only (the real pod was collected above, cgroups and all).
  await clone(SIZES[1]);
  results.push(await measure(SIZES[1]));
  await clone(SIZES[2] - SIZES[1]);
  results.push(await measure(SIZES[2]));
  await tick();
  // Collect the 1,000 too (timed for information).
  const mark1k = w.cap(['gc', '--mark-only'], { timeoutMs: 300_000 });
  const sweep1k = w.cap(['gc', '--grace-period=0s'], { timeoutMs: 300_000 });
  rmrf(template);

  // Afterwards: no pods, no cgroups of our pods, no lock files.
  const podsLeft = w.allPods().length;
  const ours = [...w.uuids].flatMap((u) => cgroupsNamed(u));
  const others = cgroupsNamed('capsule-').filter((c) => ![...w.uuids].some((u) => c.includes(u)));
  let locks = [];
  try {
    locks = fs.readdirSync(path.join(w.runtimeDir, 'pods')).filter((f) => f.endsWith('.lock'));
  } catch {
    /* no runtime dir */
  }
  const left = w.leftovers();

  const at = Object.fromEntries(results.map((r) => [r.n, r]));
  const big = at[SIZES[2]];
  const pass = { list: big.listMs <= TARGET_LIST_MS };
  // Growth: the cost of 900 more pods over 100 (the start-up and fixed work cancel out).
  const perPod = (k) => (big[k] - at[SIZES[0]][k]) / (SIZES[2] - SIZES[0]);
  const slope = (i, k) => (results[i][k] - results[i - 1][k]) / (results[i].n - results[i - 1].n);
  const pad = (s) => s.padEnd(36);
  console.log(`pod scale (exited pods: ONE real pod run to completion, the rest clones of its exited pod dir, ${files} files each; medians of ${reps} runs):`);
  console.log(`  ${pad('pods')}${SIZES.map((n) => String(n).padStart(10)).join('')}`);
  console.log(`  ${pad('capsule list --no-legend')}${results.map((r) => fmtMs(r.listMs).padStart(10)).join('')}`);
  console.log(`  ${pad('  ms per pod (total / pods)')}${results.map((r) => (r.listMs / r.n).toFixed(3).padStart(10)).join('')}`);
  console.log(`  ${pad('  ms per pod added since last size')}${results.map((r, i) => (i === 0 ? '-' : slope(i, 'listMs').toFixed(3)).padStart(10)).join('')}`);
  console.log(`  ${pad('capsule status UUID')}${results.map((r) => fmtMs(r.statusMs).padStart(10)).join('')}`);
  console.log(`  ${pad('  ms per pod (total / pods)')}${results.map((r) => (r.statusMs / r.n).toFixed(3).padStart(10)).join('')}`);
  console.log(`  ${pad('  ms per pod added since last size')}${results.map((r, i) => (i === 0 ? '-' : slope(i, 'statusMs').toFixed(3)).padStart(10)).join('')}`);
  console.log(`  growth from ${SIZES[0]} to ${SIZES[2]} pods: list ${perPod('listMs').toFixed(3)} ms per added pod, status ${perPod('statusMs').toFixed(3)} ms per added pod; node -e 0 ${fmtMs(node)}`);
  console.log(`  list at ${SIZES[2]} pods: ${fmtMs(big.listMs)}  target <= ${TARGET_LIST_MS} ms: ${verdict(pass.list)}`);
  console.log(`  gc of ${GC_PODS} exited pods (1 real, ${GC_PODS - 1} clones): gc --mark-only ${fmtMs(mark.ms)}, then gc --grace-period=0s (the sweep) ${fmtMs(sweep.ms)} = ${(sweep.ms / GC_PODS).toFixed(2)} ms per pod`);
  console.log(`  (info) gc of ${SIZES[2]} clones: --mark-only ${fmtMs(mark1k.ms)}, sweep ${fmtMs(sweep1k.ms)} = ${(sweep1k.ms / SIZES[2]).toFixed(2)} ms per pod; making the clones took ${(cloneMs / 1000).toFixed(1)} s`);
  console.log(`  afterwards: pods dir ${podsLeft === 0 ? 'empty' : `NOT empty (${podsLeft} pods)`}; cgroups of our pods: ${ours.length === 0 ? 'none' : ours.join(', ')}${realCgroupsAfterGc.length ? ` (real pod's after its gc: ${realCgroupsAfterGc.join(', ')})` : ''}; lock files: ${locks.length}; ${left.length === 0 ? 'no mounts or processes left' : `LEFT: ${left.join('; ')}`}`);
  if (others.length > 0) console.log(`  (info) ${others.length} other capsule-* cgroups exist on the host, not from this run (other users' pods)`);
  console.log(`  1-min load average: ${loadavg()}`);
  const result = {
    reps,
    sizes: results,
    perAddedPodMs: { list: perPod('listMs'), status: perPod('statusMs') },
    nodeStartMs: node,
    gc: { pods: GC_PODS, markMs: mark.ms, sweepMs: sweep.ms },
    gc1000: { markMs: mark1k.ms, sweepMs: sweep1k.ms },
    pass,
    clean: podsLeft === 0 && ours.length === 0 && locks.length === 0 && left.length === 0,
    otherCapsuleCgroups: others.length,
  };
  console.log(`BENCH_JSON ${JSON.stringify({ podScale: result })}`);
}

try {
  await main();
} catch (e) {
  console.error(`bench/pod-scale: ${e.stack ?? e}`);
  process.exitCode = 1;
}
