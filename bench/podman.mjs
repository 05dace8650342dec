// The podman baseline of the pod benchmarks (pod-run.mjs, net-run.mjs): `podman run --rm` with
// runc on a copy of the bench's rootfs, fenced off from the host so nothing of podman's outlives
// the bench or touches what the host (or other users' pods) have:
// - a throwaway network namespace of the bench's own (`ip netns add capsule-bench-podman-PID`,
//   deleted at cleanup): podman's bridge (cni-podman0), veths and iptables rules live in it;
// - entered with `nsenter --net` (not `ip netns exec`, which remounts /sys and so hides the
//   cgroup hierarchies runc needs), then `unshare -m` with fresh tmpfs on /var/lib/cni (podman's
//   host-local IPAM leases and CNI result cache) and /dev/shm (podman's lock segment): they vanish
//   with the mount namespace;
// - its own storage (`--root`, `--runroot`, `--tmpdir` under the bench's temp dir);
// - on hosts without systemd as PID 1: cgroupfs with a `--cgroup-parent` of the bench's own
//   (podman leaves its default `libpod_parent` behind), removed at cleanup in every hierarchy.
// runc, not crun: Debian 12's crun refuses this kind of host's cgroup v1 layout
// (`invalid file system type on '/sys/fs/cgroup'`). Both are for benchmarks only (not in
// scripts/install-deps.sh): `apt-get install podman runc`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { onCleanup, run } from './lib.mjs';

const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();

/** Why the podman baseline cannot be measured (missing tools), or null. */
export function podmanMissing() {
  if (!which('podman')) return 'podman not installed (apt-get install podman runc; for benchmarks only)';
  if (!which('runc')) return 'runc not installed (apt-get install runc; for benchmarks only: Debian\'s crun refuses cgroup v1 hosts)';
  return null;
}

/** Removes a cgroup directory and the sub-cgroups podman made in it (conmon, libpod-<id>). */
function removeCgroupDir(d) {
  if (!fs.existsSync(d)) return;
  try {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) fs.rmdirSync(path.join(d, e.name));
    fs.rmdirSync(d);
  } catch (e) {
    console.error(`bench: could not remove cgroup ${d}: ${e.message}`);
  }
}

/**
 * Sets up the fenced podman for `rootfs` with `network` (`bridge` or `none`) under `base` and
 * probes it once. Returns { why } when podman cannot run a container here (the reason, one line),
 * else { argv, wrapperArgv, describe }: `run(argv[0], argv.slice(1))` is one `podman run --rm
 * ... /bin/true`; `wrapperArgv` is the same fence running /bin/true without podman (what the
 * netns + mount namespace + tmpfs cost, to report beside it). Everything is undone at cleanup.
 */
export function setupPodman({ base, rootfs, network }) {
  const missing = podmanMissing();
  if (missing) return { why: missing };
  const podman = which('podman');
  const runc = which('runc');
  const tag = `capsule-bench-podman-${process.pid}`;
  const dir = path.join(base, 'podman');
  for (const d of ['root', 'runroot', 'tmp']) fs.mkdirSync(path.join(dir, d), { recursive: true });

  run('ip', ['netns', 'add', tag]);
  onCleanup(() => run('ip', ['netns', 'delete', tag], { allowFail: true }));
  run('ip', ['netns', 'exec', tag, 'ip', 'link', 'set', 'lo', 'up']);

  // The tmpfs needs a mount point: /var/lib/cni exists wherever CNI ran; made (and removed) if not.
  if (!fs.existsSync('/var/lib/cni')) {
    fs.mkdirSync('/var/lib/cni', { recursive: true });
    onCleanup(() => {
      try {
        fs.rmdirSync('/var/lib/cni');
      } catch {
        /* in use by now (a pod's CNI state): leave it */
      }
    });
  }

  const cgroupfs = !fs.existsSync('/run/systemd/system');
  if (cgroupfs) {
    onCleanup(() => {
      const roots = fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : fs.readdirSync('/sys/fs/cgroup').map((h) => path.join('/sys/fs/cgroup', h));
      for (const r of roots) removeCgroupDir(path.join(r, tag));
    });
  }

  const fence = ['nsenter', `--net=/run/netns/${tag}`, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /var/lib/cni && mount -t tmpfs tmpfs /dev/shm && exec "$@"', 'sh'];
  const opts = ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'runroot'), '--tmpdir', path.join(dir, 'tmp'), '--runtime', runc];
  if (cgroupfs) opts.push('--cgroup-manager=cgroupfs', '--events-backend=file');
  const runOpts = ['run', '--rm', `--network=${network}`];
  if (cgroupfs) runOpts.push(`--cgroup-parent=/${tag}`, '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768');
  const argv = [...fence, podman, ...opts, ...runOpts, '--rootfs', rootfs, '/bin/true'];

  const probe = run(argv[0], argv.slice(1), { allowFail: true, timeoutMs: 120_000 });
  if (probe.status !== 0) return { why: `podman cannot run a container here: ${(probe.stderr.trim().split('\n').at(-1) ?? '').slice(0, 200)}` };
  return {
    argv,
    wrapperArgv: [...fence, '/bin/true'],
    describe: `podman --runtime ${runc} run --rm --network=${network}`,
  };
}
