// rkt/podman parity of `capsule run` as a user sees it (issue 11, runtime side): stdin through
// --interactive without a terminal, docker's seccomp allow list, and nspawn's own notices on stop.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPSULE } from '../helpers/cli.js';
import { makePodWorld, podSkipReason, type PodWorld } from '../helpers/pods.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping run-parity tests: ${skip}\n`);

describe.skipIf(skip !== null)('capsule run: rkt and podman parity', () => {
  let w: PodWorld;
  beforeAll(async () => {
    w = await makePodWorld('capsule-pr-parity-');
  }, 120_000);
  afterAll(async () => {
    await w?.teardown();
  });

  it('--interactive with a pipe on stdin: the app reads it, its output and exit code come back (podman run -i)', async () => {
    const r = await w.run(['run', '--interactive', w.busybox, '--exec=/bin/sh', '--', '-c', 'cat; echo done >&2; exit 3'], { input: 'a\nb\n' });
    expect(r.stdout).toBe('a\nb\n');
    expect(r.stderr).toBe('done\n');
    expect(r.code).toBe(3);
  });

  it('without --interactive the app reads nothing from the caller (stdin is /dev/null)', async () => {
    const r = await w.run(['run', w.busybox, '--exec=/bin/sh', '--', '-c', 'cat; echo end'], { input: 'secret\n' });
    expect(r.stdout).toBe('end\n');
    expect(r.code).toBe(0);
  });

  it('--seccomp=mode=retain,@docker/default-whitelist runs an ordinary shell pipeline', async () => {
    const r = await w.run(['run', w.busybox, '--seccomp=mode=retain,@docker/default-whitelist', '--exec=/bin/sh', '--', '-c', 'ls / | grep -c ^bin$; date +%Y >/dev/null; sleep 0; echo ok']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1\nok\n');
    expect(r.code).toBe(0);
  });

  it("a SIGTERM to capsule run's whole process group (a terminal's ^C, a unit's cgroup) stops the pod without nspawn's notices", async () => {
    const child = spawn(CAPSULE, [...w.flags, 'run', w.busybox, '--exec=/bin/sh', '--', '-c', 'echo up; trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done'], {
      env: { ...process.env, CAPSULE_RUNTIME_DIR: w.runtimeDir },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 + (os.constants.signals[sig] ?? 0) : null))));
    await new Promise<void>((resolve) => {
      const check = (): void => void (out.includes('up\n') ? resolve() : setTimeout(check, 50));
      check();
    });
    process.kill(-(child.pid ?? 0), 'SIGTERM');
    const code = await exited;
    expect(out).toBe('up\nbye\n');
    expect(err).not.toMatch(/Trying to halt|Container .* (exited|terminated)/);
    expect(code).toBe(0);
  });
});
