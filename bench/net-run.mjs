#!/usr/bin/env node
// What networking costs a pod: run latency of `/bin/true` with Capsule's default net (CNI ptp,
// host-local IPAM, masquerade, portmap) against the same pod with `--net=none`, and against
// `podman --runtime runc run --rm` with podman's default bridge network, podman run inside a
// throwaway network namespace, mount namespace and storage of the bench's own (bench/podman.mjs)
// so its bridge, veths, iptables rules and IPAM leases never touch the host's. BENCH_NET_RUN_ROUNDS rounds (default 15), order rotated
// every round, one untimed warm-up of each, medians and ratios.
// Targets: capsule default net <= 0.8x podman (bridge), default net adds <= 40 ms over --net=none.
// Needs root, systemd-nspawn, /usr/lib/cni. When podman is missing or cannot run a container
// here, says so and still reports capsule default vs none.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { envInt, fmtMs, median, onCleanup, run, verdict } from './lib.mjs';
import { loadavg, makePodWorld, podSkipReason, printSkip } from './pod-run.mjs';
import { podmanMissing, setupPodman } from './podman.mjs';

async function main() {
  let why = podSkipReason();
  if (!why && !fs.existsSync('/usr/lib/cni/ptp')) why = 'needs the CNI plugins in /usr/lib/cni (apt-get install containernetworking-plugins)';
  if (why) return printSkip('netRun', why);
  const rounds = envInt('BENCH_NET_RUN_ROUNDS', 15);
  const w = makePodWorld('net-run');
  const { image, cap } = w;

  // podman (runc) on a copy of the same rootfs, fenced in a netns, mount namespace and storage of its own.
  const rootfs = path.join(w.base, 'bare-rootfs');
  let podman = { why: podmanMissing() };
  if (!podman.why) {
    cap(['image', 'render', '--rootfs-only', image, rootfs]);
    podman = setupPodman({ base: w.base, rootfs, network: 'bridge' });
  }
  const podmanWhy = podman.why ?? null;

  const cases = [
    { key: 'default', label: 'capsule run (default net)', once: () => cap(['run', image, '--exec=/bin/true']).ms },
    { key: 'none', label: 'capsule run --net=none', once: () => cap(['run', '--net=none', image, '--exec=/bin/true']).ms },
  ];
  if (!podmanWhy) {
    cases.push({ key: 'podman', label: 'podman run --rm (bridge, own netns)', once: () => run(podman.argv[0], podman.argv.slice(1), { timeoutMs: 120_000 }).ms });
    cases.push({ key: 'fence', label: 'the fence alone (nsenter, unshare -m, 2 tmpfs, /bin/true)', once: () => run(podman.wrapperArgv[0], podman.wrapperArgv.slice(1)).ms });
  }

  for (const c of cases) c.once();
  w.gc();
  const t = Object.fromEntries(cases.map((c) => [c.key, []]));
  const load = [];
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(i + j) % cases.length];
      t[c.key].push(c.once());
    }
    w.gc();
    load.push(os.loadavg()[0]);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const m = Object.fromEntries(Object.entries(t).map(([k, xs]) => [k, median(xs)]));
  const added = m.default - m.none;
  const ratio = { podman: podmanWhy ? null : m.default / m.podman, nonePodman: podmanWhy ? null : m.none / m.podman, defaultNone: m.default / m.none };
  const pass = { podman: podmanWhy ? null : ratio.podman <= 0.8, added: added <= 40 };
  const pad = (s) => s.padEnd(56);
  console.log(`net run results (${rounds} rounds, order rotated every round, medians; app /bin/true, busybox image):`);
  console.log(`  ${pad('capsule run (default net: ptp, IPAM, masq, portmap)')}${fmtMs(m.default)}`);
  console.log(`  ${pad('capsule run --net=none')}${fmtMs(m.none)}`);
  if (podmanWhy) console.log(`  podman: not measured: ${podmanWhy}`);
  else {
    console.log(`  ${pad('podman run --rm (bridge, in its own netns)')}${fmtMs(m.podman)}  (${podman.describe})`);
    console.log(`  ${pad('(info) of which the fence (netns, mount ns, tmpfs)')}${fmtMs(m.fence)}`);
  }
  console.log(`  ${pad('default net adds over --net=none')}${fmtMs(added)}  target <= 40 ms: ${verdict(pass.added)}  (${ratio.defaultNone.toFixed(2)}x)`);
  if (!podmanWhy) {
    console.log(`  ${pad('capsule default / podman bridge')}${ratio.podman.toFixed(2)}x  target <= 0.8x: ${verdict(pass.podman)}`);
    console.log(`  ${pad('(info) capsule --net=none / podman bridge')}${ratio.nonePodman.toFixed(2)}x`);
  } else console.log('  capsule/podman: not measured');
  console.log(`  1-min load average: ${loadavg()} (median over rounds ${median(load).toFixed(2)})`);
  const left = w.leftovers();
  const links = run('ip', ['-o', 'link'], { allowFail: true }).stdout.split('\n').filter((l) => [...w.uuids].some((u) => l.includes(u.slice(0, 8))));
  console.log(`  after gc: ${w.allPods().length} pods, ${left.length === 0 ? 'no cgroups, mounts or processes left' : `LEFT: ${left.join('; ')}`} (${w.uuids.size} pods made)${links.length ? `; links naming our pods: ${links.join(' | ')}` : ''}`);
  console.log(`BENCH_JSON ${JSON.stringify({ netRun: { rounds, medianMs: m, samplesMs: t, ratio, addedMs: added, pass, podman: podmanWhy ?? podman.describe, loadavg: median(load), podsMade: w.uuids.size, leftovers: left } })}`);
}

try {
  await main();
} catch (e) {
  console.error(`bench/net-run: ${e.stack ?? e}`);
  process.exitCode = 1;
}
