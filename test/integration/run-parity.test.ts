// rkt/podman parity of `capsule run` as a user sees it (issue 11, runtime side): stdin through
// --interactive without a terminal, docker's seccomp allow list, nspawn's own notices on stop, and
// what is missing behind an exec that fails with "No such file or directory".
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage } from '../helpers/busybox-image.js';
import { CAPSULE } from '../helpers/cli.js';
import { buildImage, busyboxEntries, hostGoArch, writeImageLayout } from '../helpers/oci-images.js';
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

  it("capsule stop of a running pod: neither run's nor stop's stderr shows nspawn's halt notices", async () => {
    const uuidFile = path.join(w.base, 'stop-quiet');
    const child = w.spawnRun(['run', '--uuid-file-save', uuidFile, w.busybox, '--exec=/bin/sh', '--', '-c', 'echo up; while :; do sleep 0.1; done']);
    while (!child.out().includes('up\n')) await new Promise((r) => setTimeout(r, 50));
    const uuid = fs.readFileSync(uuidFile, 'utf8').trim();
    const st = await w.run(['stop', uuid]);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toBe(`"${uuid}"\n`);
    expect(st.stderr).toBe('');
    const code = await child.exited;
    expect(code).toBe(143);
    expect(child.err()).not.toMatch(/Trying to halt|Container .* (exited|terminated)|systemd-nspawn/);
    expect(child.out()).toBe('up\n');
  });

  it.each([
    ['freebsd', hostGoArch(), 'bad os "freebsd" (must be one of: linux)'],
    ['', hostGoArch(), 'missing os label in the image manifest'],
    ['linux', '', 'missing arch label in the image manifest'],
    ['linux', hostGoArch() === 's390x' ? 'amd64' : 's390x', /^bad arch "(s390x|amd64)" for linux/],
  ])('an OCI image whose config says os %j arch %j is refused at run, by reference and by ID', async (os, architecture, why) => {
    const img = buildImage({ os, architecture, layers: [{ entries: busyboxEntries() }], run: { Cmd: ['/bin/true'] } });
    const ref = `oci:${writeImageLayout(path.join(w.base, `oci-${os}-${architecture}`), img, 'v1')}:v1`;
    const fetched = await w.run(['--insecure-options=image', 'fetch', ref]);
    for (const arg of [ref, fetched.stdout.trim()]) {
      const r = await w.run(['--insecure-options=image', 'run', arg]);
      const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.includes('signature verification has been disabled'));
      expect(lines).toEqual([typeof why === 'string' ? `run: ${why}` : expect.stringMatching(new RegExp(`^run: ${why.source.slice(1)}`))]);
      expect(r.code).toBe(254);
    }
  });

  describe('an exec failing for want of its interpreter or libraries names what is missing', () => {
    // The host's dynamically linked `true` and its ELF interpreter (ldd prints it as an absolute path).
    const hostTrue = '/usr/bin/true';
    const interp = /^\s*(\/\S*ld-linux\S*)/m.exec(execFileSync('ldd', [hostTrue], { encoding: 'utf8' }))?.[1] ?? '';
    const image = (name: string, withInterp: boolean): string =>
      busyboxImage(w.base, name, {}, (root) => {
        fs.copyFileSync(hostTrue, path.join(root, 'dyn-true'));
        fs.chmodSync(path.join(root, 'dyn-true'), 0o755);
        fs.writeFileSync(path.join(root, 'script'), '#!/bin/bash\necho never\n', { mode: 0o755 });
        if (withInterp) {
          fs.mkdirSync(path.join(root, path.dirname(interp)), { recursive: true });
          fs.copyFileSync(fs.realpathSync(interp), path.join(root, interp));
          fs.chmodSync(path.join(root, interp), 0o755);
        }
      });
    const lines = (stderr: string): string[] => stderr.split('\n').filter((l) => l !== '' && !l.includes('signature verification has been disabled'));

    it('a missing ELF interpreter, and the libraries missing with it', async () => {
      expect(interp).not.toBe('');
      const r = await w.run(['--insecure-options=image', 'run', image('pr-no-interp', false), '--exec=/dyn-true']);
      expect(lines(r.stderr)).toEqual([`capsule-stage1: app pr-no-interp: exec /dyn-true: No such file or directory: its ELF interpreter ${interp} is missing; shared libraries not found: libc.so.6`]);
      expect(r.code).toBe(127);
    });

    it('a missing library behind a present interpreter is named by the loader', async () => {
      const r = await w.run(['--insecure-options=image', 'run', image('pr-no-libc', true), '--exec=/dyn-true']);
      expect(lines(r.stderr)).toEqual([expect.stringMatching(/^\/dyn-true: error while loading shared libraries: libc\.so\.6: cannot open shared object file: No such file or directory$/)]);
      expect(r.code).toBe(127);
    });

    it("a script whose #! interpreter is missing", async () => {
      const r = await w.run(['--insecure-options=image', 'run', image('pr-no-bash', false), '--exec=/script']);
      expect(lines(r.stderr)).toEqual(['capsule-stage1: app pr-no-bash: exec /script: No such file or directory: the interpreter /bin/bash of its #! line is missing']);
      expect(r.code).toBe(127);
    });
  });
});
