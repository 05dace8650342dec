#!/usr/bin/env node
// Resident cost of a running pod: `capsule run IMAGE --exec=/bin/sleep -- 30` in the background;
// once `capsule status` says running (and the app has started), the RSS (VmRSS) of every process
// in the tree of the `capsule run` process, by kind: Node (target: none), Capsule's own
// (capsule-stage1 run, the pod's init, the sh wrapper if still there; target <= 10 MB total),
// systemd-nspawn (informational) and the app. Then the pod is stopped and gc'd.
// Env: BENCH_POD_RESIDENT_SAMPLES (default 5, 200 ms apart; medians). Needs root and systemd-nspawn.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { envInt, fmtMs, median, verdict } from './lib.mjs';
import { loadavg, makePodWorld, NSPAWN, podSkipReason, printSkip } from './pod-run.mjs';

const TARGET_CAPSULE_MB = 10;
const SLEEP_S = 30;

const readOr = (p, dflt = '') => {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return dflt;
  }
};
const readlinkOr = (p) => {
  try {
    return fs.readlinkSync(p);
  } catch {
    return '';
  }
};

/** Every PID whose parent chain reaches `root` (root included), from /proc/PID/stat. */
function processTree(root) {
  const kids = new Map();
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const stat = readOr(`/proc/${p}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid).push(Number(p));
  }
  const out = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop();
    if (!fs.existsSync(`/proc/${pid}`)) continue;
    out.push(pid);
    stack.push(...(kids.get(pid) ?? []));
  }
  return out.sort((a, b) => a - b);
}

const kb = (status, field) => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : 0;
};

/** One process: its exe and command line, VmRSS and (informational) Pss, and what it is. */
function describe(pid, helperPath) {
  const exe = readlinkOr(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  const argv = readOr(`/proc/${pid}/cmdline`).split('\0').filter(Boolean);
  const status = readOr(`/proc/${pid}/status`);
  const rssKb = kb(status, 'VmRSS');
  const pssKb = kb(readOr(`/proc/${pid}/smaps_rollup`), 'Pss');
  const base = path.basename(exe);
  let kind;
  if (/^node(js)?\d*$/.test(base) || /^node(js)?\d*$/.test(path.basename(argv[0] ?? ''))) kind = 'node';
  else if (exe === helperPath || base === 'capsule-stage1' || exe === '/capsule/init' || argv[0] === '/capsule/init') kind = 'capsule';
  else if (['sh', 'dash', 'bash'].includes(base) && argv.some((a) => a.endsWith('/capsule') || a === 'capsule')) kind = 'capsule';
  else if (exe === NSPAWN || base === 'systemd-nspawn') kind = 'nspawn';
  else kind = 'app';
  return { pid, kind, exe, cmd: argv.join(' '), rssKb, pssKb };
}

async function main() {
  const why = podSkipReason();
  if (why) return printSkip('podResident', why);
  const samples = envInt('BENCH_POD_RESIDENT_SAMPLES', 5);
  const w = makePodWorld('pod-resident');
  const helperPath = path.join(path.dirname(w.CAPSULE), '..', 'dist', 'libexec', 'capsule-stage1');
  const helperReal = fs.existsSync(helperPath) ? fs.realpathSync(helperPath) : helperPath;

  // Its own process group, so cleanup can kill the lot if anything goes wrong.
  const t0 = Date.now();
  const child = spawn(w.CAPSULE, [...w.flags, 'run', w.image, '--exec=/bin/sleep', '--', String(SLEEP_S)], { env: w.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  w.bg.add(child.pid);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('close', (code, sig) => resolve({ code, sig, ms: Date.now() - t0 })));
  let ended = null;
  exited.then((r) => (ended = r));

  // Wait until the pod runs and its app has been exec'd (status/<app>.started).
  let uuid = null;
  let runningMs = null;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && ended === null) {
    uuid ??= w.podsIn('run')[0] ?? null;
    if (uuid) {
      const podDir = path.join(w.dir, 'pods', 'run', uuid);
      const started = fs.existsSync(path.join(podDir, 'status')) && fs.readdirSync(path.join(podDir, 'status')).some((f) => f.endsWith('.started'));
      if (started && w.cap(['status', uuid], { allowFail: true }).stdout.includes('state=running')) {
        runningMs = Date.now() - t0;
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (runningMs === null) throw new Error(`the pod did not reach "running" (${ended ? `capsule run exited ${ended.code ?? ended.sig}` : 'timed out'}): ${out.trim().slice(-2000)}`);
  await new Promise((r) => setTimeout(r, 300)); // let the pod settle

  const sums = { node: [], capsule: [], nspawn: [], app: [], total: [] };
  const pssSums = { node: [], capsule: [], nspawn: [], app: [], total: [] };
  let last = [];
  for (let i = 0; i < samples; i++) {
    last = processTree(child.pid).map((p) => describe(p, helperReal));
    for (const k of Object.keys(sums)) {
      const mine = k === 'total' ? last : last.filter((p) => p.kind === k);
      sums[k].push(mine.reduce((a, p) => a + p.rssKb, 0));
      pssSums[k].push(mine.reduce((a, p) => a + p.pssKb, 0));
    }
    if (i + 1 < samples) await new Promise((r) => setTimeout(r, 200));
  }
  const m = Object.fromEntries(Object.entries(sums).map(([k, xs]) => [k, median(xs)]));
  const pss = Object.fromEntries(Object.entries(pssSums).map(([k, xs]) => [k, median(xs)]));
  const counts = Object.fromEntries(Object.keys(sums).filter((k) => k !== 'total').map((k) => [k, last.filter((p) => p.kind === k).length]));

  // Stop it (SIGTERM to the pod: the app gets SIGTERM) and collect it.
  const stop = w.cap(['stop', uuid], { allowFail: true, timeoutMs: 30_000 });
  const stopT0 = Date.now();
  let timer;
  const end = await Promise.race([exited, new Promise((r) => (timer = setTimeout(() => r(null), 25_000)))]);
  clearTimeout(timer);
  const stopMs = Date.now() - stopT0 + stop.ms;
  if (end === null) throw new Error('the pod did not end within 25 s of capsule stop');
  w.bg.delete(child.pid);
  w.gc();
  const left = w.leftovers();

  const MB = (k) => `${(k / 1024).toFixed(2)} MB`;
  const pass = { node: counts.node === 0, capsule: m.capsule / 1024 <= TARGET_CAPSULE_MB };
  console.log(`pod resident cost (pod running /bin/sleep ${SLEEP_S}; VmRSS of the process tree of \`capsule run\`, median of ${samples} samples):`);
  for (const p of last) {
    const exe = p.exe && !p.cmd.startsWith(p.exe) ? `[${p.exe}] ` : '';
    const line = `${exe}${p.cmd}`;
    console.log(`  pid ${String(p.pid).padStart(7)}  ${p.kind.padEnd(7)}  ${MB(p.rssKb).padStart(9)}  (Pss ${MB(p.pssKb)})  ${line.length > 120 ? `${line.slice(0, 117)}...` : line}`);
  }
  const pad = (s) => s.padEnd(30);
  console.log(`  ${pad(`Node processes (${counts.node})`)}${MB(m.node).padStart(9)}  target: none: ${verdict(pass.node)}`);
  console.log(`  ${pad(`Capsule's own (${counts.capsule} processes)`)}${MB(m.capsule).padStart(9)}  (Pss ${MB(pss.capsule)})  target <= ${TARGET_CAPSULE_MB} MB: ${verdict(pass.capsule)}`);
  console.log(`  ${pad(`systemd-nspawn (${counts.nspawn})`)}${MB(m.nspawn).padStart(9)}  (Pss ${MB(pss.nspawn)})  the host's binary, informational`);
  console.log(`  ${pad(`the app (${counts.app})`)}${MB(m.app).padStart(9)}  (Pss ${MB(pss.app)})`);
  console.log(`  ${pad('all')}${MB(m.total).padStart(9)}  (Pss ${MB(pss.total)})`);
  console.log(`  (info) capsule run to "running" with the app started: ${fmtMs(runningMs)}; capsule stop to the end of capsule run: ${fmtMs(stopMs)} (exit ${end.code ?? end.sig})`);
  console.log(`  1-min load average: ${loadavg()}`);
  console.log(`  after stop and gc: ${w.allPods().length} pods, ${left.length === 0 ? 'no cgroups, mounts or processes left' : `LEFT: ${left.join('; ')}`}`);
  const result = { samples, medianRssKb: m, medianPssKb: pss, counts, processes: last.map((p) => ({ ...p, cmd: p.cmd.slice(0, 200) })), pass, runningMs, stopMs, runExit: end.code ?? end.sig, leftovers: left };
  console.log(`BENCH_JSON ${JSON.stringify({ podResident: result })}`);
}

try {
  await main();
} catch (e) {
  console.error(`bench/pod-resident: ${e.stack ?? e}`);
  process.exitCode = 1;
}
