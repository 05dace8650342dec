#!/usr/bin/env node
// Pod run latency: `capsule run --net=host IMAGE --exec=/bin/true` (image already in the store, its
// tree rendered by a warm-up pod) against bare systemd-nspawn on the same rootfs, and against
// `podman run --rootfs` (runc, fenced: bench/podman.mjs) when podman and runc are installed. Also `--net=none`, a bare nspawn with
// --private-network, one with SYSTEMD_SECCOMP=0 (as Capsule runs nspawn), `node -e 0`, the split
// `capsule prepare` + `capsule run-prepared`, and a timeline of `capsule run` from its pod files.
// BENCH_POD_RUN_ROUNDS rounds (default 20), order rotated every round, medians.
// Targets: capsule/nspawn <= 2.5x, capsule/podman <= 1.0x. Needs root and systemd-nspawn.
//
// Also exports the pod world the other pod benchmarks (pod-resident, pod-scale) share.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupPodman } from './podman.mjs';
import { ensureBuilt, envInt, fmtMs, isRoot, median, onCleanup, REPO, rmrf, run, sleepMs, verdict } from './lib.mjs';

export const NSPAWN = '/usr/bin/systemd-nspawn';
const POD_DIRS = ['embryo', 'prepare', 'prepared', 'run', 'exited-garbage', 'garbage'];

/** Why pod benchmarks cannot run here, or null. */
export function podSkipReason() {
  if (!isRoot()) return 'needs root (pods need it)';
  if (!fs.existsSync(NSPAWN)) return `needs ${NSPAWN} (apt-get install systemd-container)`;
  if (!fs.existsSync(process.env.BUSYBOX ?? '/bin/busybox')) return 'needs /bin/busybox for the sample image (apt-get install busybox-static)';
  return null;
}

/** Prints the skip line and the BENCH_JSON record of a skipped benchmark. */
export function printSkip(key, why) {
  console.log(`${key}: skipped: ${why}`);
  console.log(`BENCH_JSON ${JSON.stringify({ [key]: { skipped: why } })}`);
}

/** Cgroup directories (up to 5 levels below /sys/fs/cgroup) whose name contains `needle`. */
export function cgroupsNamed(needle) {
  const out = [];
  const walk = (d, depth) => {
    let es;
    try {
      es = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of es) {
      if (!e.isDirectory()) continue;
      const p = path.join(d, e.name);
      if (e.name.includes(needle)) out.push(p);
      else if (depth < 5) walk(p, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return out;
}

/** PIDs of processes whose cwd or command line is inside `dir`. */
export function processesUnder(dir) {
  const out = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    let hit = false;
    try {
      hit = fs.readlinkSync(`/proc/${p}/cwd`).startsWith(dir);
    } catch {
      /* gone or a kernel thread */
    }
    try {
      hit ||= fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
    } catch {
      /* gone */
    }
    if (hit) out.push(Number(p));
  }
  return out;
}

/**
 * A private Capsule world in a temp dir (store, configs, runtime dir for pod locks) with the
 * busybox sample image fetched. At cleanup: running pods are killed, every pod is gc'd, and
 * whatever is left (processes, mounts, cgroups of our pods) is reported, then the dir is removed.
 */
export function makePodWorld(label) {
  const CAPSULE = ensureBuilt();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `capsule-bench-${label}-`));
  const dir = path.join(base, 'var');
  const cfg = path.join(base, 'etc');
  const sysCfg = path.join(base, 'usr-lib');
  const runtimeDir = path.join(base, 'run');
  const flags = [`--dir=${dir}`, `--local-config=${cfg}`, `--system-config=${sysCfg}`];
  const env = { ...process.env, CAPSULE_RUNTIME_DIR: runtimeDir };
  delete env.NOTIFY_SOCKET; // a pod must not talk to whoever started the bench
  const uuids = new Set(); // every pod this world made (for the leftover checks)
  const cap = (args, opts = {}) => run(CAPSULE, [...flags, ...args], { env, timeoutMs: 120_000, ...opts });

  const podsIn = (state) => {
    try {
      return fs.readdirSync(path.join(dir, 'pods', state)).filter((u) => /^[0-9a-f-]{36}$/.test(u));
    } catch {
      return [];
    }
  };
  const allPods = () => POD_DIRS.flatMap((s) => podsIn(s).map((u) => ({ state: s, uuid: u })));
  const remember = () => {
    for (const p of allPods()) uuids.add(p.uuid);
  };
  /**
   * gc of every pod (none is running when this is called), no grace period. Run again while pods
   * are left: `gc --grace-period=0s` sometimes keeps a pod it has just marked ("still within grace
   * period (0s)": the mark time has fractions of a millisecond, Date.now() does not).
   */
  const gc = () => {
    remember();
    let r;
    for (let i = 0; i < 5; i++) {
      r = cap(['gc', '--grace-period=0s', '--expire-prepared=0s'], { allowFail: true });
      if (r.status !== 0) console.error(`bench: capsule gc exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      if (allPods().length === 0) break;
      sleepMs(5);
    }
    return r;
  };
  /** Cgroups, mounts and processes of this world still there. */
  const leftovers = () => {
    remember();
    const found = [];
    for (const u of uuids) found.push(...cgroupsNamed(u).map((c) => `cgroup ${c}`));
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(base));
    found.push(...mounts.map((m) => `mount ${m.split(' ')[4]}`));
    found.push(...processesUnder(base).map((p) => `process ${p} (${fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()})`));
    return found;
  };
  const bg = new Set(); // background children (own process groups), killed at cleanup

  onCleanup(() => {
    // Kill pods still running (a signal in the middle of a round), then gc everything.
    for (const u of podsIn('run')) {
      const st = cap(['status', u], { allowFail: true, timeoutMs: 20_000 }).stdout;
      if (st.includes('state=running')) cap(['stop', '--force', u], { allowFail: true, timeoutMs: 30_000 });
    }
    for (const pid of bg) {
      for (let i = 0; i < 50 && fs.existsSync(`/proc/${pid}`); i++) sleepMs(100);
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (allPods().length > 0) gc();
    const left = leftovers();
    const pods = allPods();
    if (pods.length > 0) console.error(`bench: ${pods.length} pod(s) not collected: ${pods.map((p) => `${p.state}/${p.uuid}`).slice(0, 5).join(', ')}`);
    for (const l of left) console.error(`bench: left behind: ${l}`);
    for (const l of left) {
      const m = /^process (\d+)/.exec(l);
      if (m) {
        try {
          process.kill(Number(m[1]), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    rmrf(base);
  });

  // The sample image, built with the snapshot binary, fetched into the private store.
  const aci = path.join(base, 'busybox.aci');
  run('bash', [path.join(REPO, 'images', 'build.sh'), 'busybox', aci], { env: { ...env, CAPSULE }, timeoutMs: 120_000 });
  const image = cap(['--insecure-options=image', 'fetch', '--full', aci]).stdout.trim();
  if (!/^sha512-[0-9a-f]+$/.test(image)) throw new Error(`fetch printed ${JSON.stringify(image)}, not an image ID`);

  return { CAPSULE, base, dir, runtimeDir, flags, env, image, cap, gc, podsIn, allPods, remember, leftovers, uuids, bg };
}

export const loadavg = () => os.loadavg()[0].toFixed(2);

async function main() {
  const why = podSkipReason();
  if (why) return printSkip('podRun', why);
  const rounds = envInt('BENCH_POD_RUN_ROUNDS', 20);
  const w = makePodWorld('pod-run');
  const { image, cap } = w;

  // Warm-up pod: the store's first pod (the image's tree in use, page cache and binaries warm).
  const warm = cap(['run', '--net=host', image, '--exec=/bin/true']);
  w.gc();

  // A plain copy of the rootfs for the bare runs.
  const rootfs = path.join(w.base, 'bare-rootfs');
  cap(['image', 'render', '--rootfs-only', image, rootfs]);
  if (!fs.existsSync(path.join(rootfs, 'usr'))) throw new Error(`${rootfs} has no usr/ (systemd-nspawn refuses it)`);

  // nspawn wants /run/systemd/nspawn/propagate; /run is not always a tmpfs (it is not here in a
  // container): give the bare run its own tmpfs there in a private mount namespace, as
  // capsule-stage1 does (`host-tmpfs`), so both sides do the same work and nothing is printed.
  const made = [];
  for (const d of ['/run/systemd', '/run/systemd/nspawn']) {
    if (!fs.existsSync(d)) {
      fs.mkdirSync(d, { mode: 0o755 });
      made.unshift(d);
    }
  }
  onCleanup(() => {
    for (const d of made) {
      try {
        fs.rmdirSync(d);
      } catch {
        /* in use by someone else by now: leave it */
      }
    }
  });
  // nspawn --keep-unit makes payload/ and supervisor/ cgroups where it runs (here: under the
  // systemd and unified hierarchies' current cgroup, which may be the root) and leaves them: run it
  // in cgroups of our own, removed at cleanup. Capsule's stage1 joins its pod's cgroups the same way.
  const cgRoots = fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'].filter((d) => fs.existsSync(path.join(d, 'cgroup.procs')));
  const cgs = cgRoots.map((r) => path.join(r, `bench-nspawn-${process.pid}`));
  for (const c of cgs) fs.mkdirSync(c);
  onCleanup(() => {
    for (const c of cgs) {
      for (const sub of ['payload', 'supervisor']) {
        try {
          fs.rmdirSync(path.join(c, sub));
        } catch {
          /* not made */
        }
      }
      try {
        fs.rmdirSync(c);
      } catch (e) {
        console.error(`bench: could not remove cgroup ${c}: ${e.message}`);
      }
    }
  });
  const join = cgs.map((c) => `echo $$ > ${c}/cgroup.procs && `).join('');
  const bare = (extra) => ['-m', 'sh', '-c', `${join}mount -t tmpfs tmpfs /run/systemd/nspawn && exec ${NSPAWN} --register=no --keep-unit -q ${extra} -D "$1" /bin/true`, 'sh', rootfs];

  // podman (runc) on the same rootfs, fenced in a netns, mount namespace and storage of its own.
  const podman = setupPodman({ base: w.base, rootfs, network: 'none' });

  // Where a `capsule run --net=host` spends its time, from the pod's own files: their mtimes mark
  // the steps (the kernel stamps them from its coarse clock: a few ms of resolution).
  const phases = [];
  const mtime = (p) => fs.statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? NaN;
  const runHost = () => {
    const before = new Set(w.podsIn('run'));
    const t0 = performance.timeOrigin + performance.now();
    const r = cap(['run', '--net=host', image, '--exec=/bin/true']);
    const t6 = t0 + r.ms;
    const uuid = w.podsIn('run').find((u) => !before.has(u));
    if (uuid) {
      const d = path.join(w.dir, 'pods', 'run', uuid);
      const status = fs.readdirSync(path.join(d, 'status')).find((f) => f.endsWith('.started'))?.slice(0, -'.started'.length);
      const t = [t0, mtime(path.join(d, 'pod-created')), mtime(path.join(d, 'stage1', 'plan')), mtime(path.join(d, 'ppid')), mtime(path.join(d, 'status', `${status}.started`)), mtime(path.join(d, 'status', status ?? '')), t6];
      phases.push(t.slice(1).map((x, i) => x - t[i]));
    }
    return r.ms;
  };

  let lastPrepared = null;
  const cases = [
    { key: 'host', label: 'capsule run --net=host', once: runHost },
    { key: 'none', label: 'capsule run --net=none', once: () => cap(['run', '--net=none', image, '--exec=/bin/true']).ms },
    { key: 'nspawn', label: 'bare systemd-nspawn', once: () => run('unshare', bare('')).ms },
    { key: 'nspawnPriv', label: 'bare systemd-nspawn --private-network', once: () => run('unshare', bare('--private-network')).ms },
    // Capsule runs nspawn with SYSTEMD_SECCOMP=0 (the helper gives each app its own filter): nspawn alone that way.
    { key: 'nspawnNoSeccomp', label: 'bare systemd-nspawn, SYSTEMD_SECCOMP=0', once: () => run('unshare', bare(''), { env: { ...process.env, SYSTEMD_SECCOMP: '0' } }).ms },
    {
      key: 'prepare',
      label: 'capsule prepare',
      once: () => {
        const r = cap(['prepare', image, '--exec=/bin/true']);
        lastPrepared = r.stdout.trim();
        return r.ms;
      },
      // run-prepared of the pod just prepared is timed right after, as its own sample.
      then: { key: 'runPrepared', once: () => cap(['run-prepared', '--net=host', lastPrepared]).ms },
    },
    { key: 'node', label: 'node -e 0', once: () => run(process.execPath, ['-e', '0']).ms },
  ];
  if (!podman.why) cases.push({ key: 'podman', label: 'podman run --rootfs', once: () => run(podman.argv[0], podman.argv.slice(1), { timeoutMs: 120_000 }).ms });
  const hasPodman = !podman.why;

  // One untimed warm-up of each.
  for (const c of cases) {
    c.once();
    c.then?.once();
  }
  w.gc();

  phases.length = 0; // warm-up runs do not count
  const t = {};
  for (const c of cases) {
    t[c.key] = [];
    if (c.then) t[c.then.key] = [];
  }
  const load = [];
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(i + j) % cases.length];
      t[c.key].push(c.once());
      if (c.then) t[c.then.key].push(c.then.once());
    }
    w.gc(); // outside the timed runs: pods would pile up otherwise
    load.push(os.loadavg()[0]);
    await new Promise((resolve) => setImmediate(resolve)); // lets SIGINT/SIGTERM clean up
  }

  const m = Object.fromEntries(Object.entries(t).map(([k, xs]) => [k, median(xs)]));
  const ratio = {
    nspawn: m.host / m.nspawn,
    nspawnNoSeccomp: m.host / m.nspawnNoSeccomp,
    noneVsPrivNspawn: m.none / m.nspawnPriv,
    podman: hasPodman ? m.host / m.podman : null,
    nonePodman: hasPodman ? m.none / m.podman : null,
  };
  const pass = { nspawn: ratio.nspawn <= 2.5, podman: hasPodman ? ratio.podman <= 1.0 : null };
  const pad = (s) => s.padEnd(48);
  console.log(`pod run results (${rounds} rounds, order rotated every round, medians; app /bin/true in ${w.image.slice(0, 19)}…, busybox image):`);
  console.log(`  ${pad('capsule run --net=host')}${fmtMs(m.host)}`);
  console.log(`  ${pad('capsule run --net=none')}${fmtMs(m.none)}`);
  console.log(`  ${pad('bare systemd-nspawn (host network)')}${fmtMs(m.nspawn)}`);
  console.log(`  ${pad('bare systemd-nspawn --private-network')}${fmtMs(m.nspawnPriv)}`);
  console.log(`  ${pad('(info) bare systemd-nspawn, SYSTEMD_SECCOMP=0')}${fmtMs(m.nspawnNoSeccomp)}  (no nspawn seccomp filter, as Capsule runs it)`);
  if (hasPodman) console.log(`  ${pad('podman run --rm --network=none --rootfs')}${fmtMs(m.podman)}  (${podman.describe}, in its own netns)`);
  else console.log(`  podman: not measured: ${podman.why}`);
  console.log(`  ${pad('node -e 0 (context)')}${fmtMs(m.node)}`);
  console.log(`  ${pad('capsule/nspawn (--net=host vs bare nspawn)')}${ratio.nspawn.toFixed(2)}x  target <= 2.5x: ${verdict(pass.nspawn)}`);
  console.log(`  ${pad('(info) capsule/nspawn with SYSTEMD_SECCOMP=0')}${ratio.nspawnNoSeccomp.toFixed(2)}x  (nspawn compiling its own seccomp filter costs it ${fmtMs(m.nspawn - m.nspawnNoSeccomp)})`);
  if (hasPodman) {
    console.log(`  ${pad('capsule/podman (--net=host vs podman)')}${ratio.podman.toFixed(2)}x  target <= 1.0x: ${verdict(pass.podman)}`);
    console.log(`  ${pad('(info) --net=none vs podman --network=none')}${ratio.nonePodman.toFixed(2)}x`);
  } else console.log('  capsule/podman: not measured');
  console.log(`  ${pad('(info) --net=none vs nspawn --private-network')}${ratio.noneVsPrivNspawn.toFixed(2)}x  (--net=none costs ${fmtMs(m.none - m.host)} over --net=host bare nspawn: ${fmtMs(m.nspawnPriv - m.nspawn)})`);
  console.log('  breakdown of capsule run --net=host (medians of the split runs):');
  console.log(`    ${pad('capsule prepare')}${fmtMs(m.prepare)}  (Node start, store, pod files; node -e 0 is ${fmtMs(m.node)})`);
  console.log(`    ${pad('capsule run-prepared --net=host')}${fmtMs(m.runPrepared)}  (Node start, plan, hand-over, stage1, nspawn, app)`);
  console.log(`    ${pad('  of which nspawn (bare, SYSTEMD_SECCOMP=0)')}${fmtMs(m.nspawnNoSeccomp)}`);
  console.log(`    ${pad('  rest: Node, plan, hand-over, stage1')}${fmtMs(m.runPrepared - m.nspawnNoSeccomp)}`);
  console.log(`    ${pad('prepare + run-prepared')}${fmtMs(m.prepare + m.runPrepared)}  vs run ${fmtMs(m.host)} (run starts Node once: saves ~${fmtMs(m.prepare + m.runPrepared - m.host)})`);
  console.log(`    ${pad('capsule run - nspawn (SYSTEMD_SECCOMP=0)')}${fmtMs(m.host - m.nspawnNoSeccomp)}  (Capsule's own cost per pod)`);
  const PHASES = [
    'start to pod-created: wrapper, Node start-up, CLI, store, image',
    'to stage1/plan written: pod dir, pod files, plans',
    'to ppid: Node exit, hand-over, stage1 mounts+cgroups',
    'to app exec\'d (status/APP.started): nspawn, init, isolation',
    'to status/APP: the app (/bin/true)',
    'to capsule run\'s end: init, nspawn, stage1 exit',
  ];
  const phaseMs = PHASES.map((_, i) => median(phases.map((p) => p[i])));
  console.log(`  timeline of capsule run --net=host (medians of ${phases.length} runs, from the pod files' mtimes: +-4 ms):`);
  PHASES.forEach((label, i) => console.log(`    ${label.padEnd(64)}${fmtMs(phaseMs[i]).padStart(9)}`));
  console.log(`  (info) first pod of the fresh store (warm-up, not in the medians): ${fmtMs(warm.ms)}`);
  console.log(`  1-min load average: ${loadavg()} (median over rounds ${median(load).toFixed(2)})`);
  const left = w.leftovers();
  console.log(`  after gc: ${w.allPods().length} pods, ${left.length === 0 ? 'no cgroups, mounts or processes left' : `LEFT: ${left.join('; ')}`} (${w.uuids.size} pods made)`);
  const result = { rounds, medianMs: m, samplesMs: t, ratio, pass, phases: Object.fromEntries(PHASES.map((l, i) => [l.split(':')[0], phaseMs[i]])), podman: podman.why ?? podman.describe, loadavg: median(load), podsMade: w.uuids.size, leftovers: left };
  console.log(`BENCH_JSON ${JSON.stringify({ podRun: result })}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (e) {
    console.error(`bench/pod-run: ${e.stack ?? e}`);
    process.exitCode = 1;
  }
}
