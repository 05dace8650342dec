import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAPSULE, errorLines, runCapsule } from '../helpers/cli.js';
import { onPty } from '../helpers/pty.js';
import { leftovers, makePodWorld, podSkipReason, probeFacts, waitFor, type PodWorld, usePodWorld } from '../helpers/pods.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping run-lifecycle tests: ${skip}\n`);

const stateOf = async (w: PodWorld, uuid: string): Promise<string> => /^state=(.*)$/m.exec((await w.run(['status', uuid])).stdout)?.[1] ?? '?';
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(skip !== null)('pod lifecycle with real pods', () => {
  let w: PodWorld;
  usePodWorld((x) => (w = x));

  it('run and prepare take the command word after any global flags, one or several, = or separate', async () => {
    const env = { CAPSULE_RUNTIME_DIR: w.runtimeDir };
    for (const globals of [[`--dir=${w.dir}`], ['--dir', w.dir], [`--dir=${w.dir}`, '--debug'], ['--debug', `--dir=${w.dir}`, '--insecure-options=image']]) {
      const r = await runCapsule([...globals, 'run', '--net=none', w.probe, '--exec=/probe', '--', 'exit', '5'], { env });
      expect(r.code, `${globals.join(' ')} run: ${r.stderr}`).toBe(5);
      const p = await runCapsule([...globals, 'prepare', w.probe], { env });
      expect(p.stdout.trim(), `${globals.join(' ')} prepare: ${p.stderr}`).toMatch(/^[0-9a-f-]{36}$/);
    }
  }, 60_000);

  it('prepare prints the UUID; run-prepared runs it; a second run-prepared is refused', async () => {
    const p = await w.run(['prepare', w.probe, '--exec=/probe', '--', 'exit', '3']);
    expect(p.code).toBe(0);
    const uuid = p.stdout.trim();
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(await stateOf(w, uuid)).toBe('prepared');
    const r = await w.run(['run-prepared', uuid.slice(0, 8)]);
    expect(r.code).toBe(3);
    expect(await stateOf(w, uuid)).toBe('exited');
    const again = await w.run(['run-prepared', uuid]);
    expect(again.code).toBe(254);
    expect(errorLines(again)).toEqual([`run-prepared: pod "${uuid}" is not prepared`]);
  });

  it('multi-app pods: the first failing app sets the exit code and the others are stopped', async () => {
    const r = await w.run(['run', '--uuid-file-save', path.join(w.base, 'multi'), w.probe, '--name=fails', '--exec=/probe', '--', 'exit', '4', '---', w.probe, '--name=sleeps', '--exec=/probe', '--', 'sleep', '60']);
    expect(r.code).toBe(4);
    const uuid = fs.readFileSync(path.join(w.base, 'multi'), 'utf8').trim();
    const s = (await w.run(['status', uuid])).stdout;
    expect(s).toMatch(/^app-fails=4$/m);
    expect(s).toMatch(/^app-sleeps=143$/m);
  }, 60_000);

  it('apps of one pod share the network and IPC namespaces and volumes, not their root filesystems', async () => {
    const host = path.join(w.base, 'shared');
    fs.mkdirSync(host);
    const r = await w.run([
      'run', '--volume', `data,kind=host,source=${host}`,
      w.busybox, '--name=a', '--mount', 'volume=data,target=/data', '--exec=/bin/sh', '--', '-c', 'echo from-a > /data/a; touch /only-a; readlink /proc/self/ns/net; readlink /proc/self/ns/ipc',
      '---',
      w.busybox, '--name=b', '--mount', 'volume=data,target=/data', '--exec=/bin/sh', '--', '-c', 'sleep 1; cat /data/a; test -e /only-a && echo leaked; readlink /proc/self/ns/net; readlink /proc/self/ns/ipc',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('from-a');
    expect(r.stdout).not.toContain('leaked');
    const ns = r.stdout.split('\n').filter((l) => /^(net|ipc):/.test(l));
    expect(new Set(ns).size).toBe(2);
    expect(fs.readFileSync(path.join(host, 'a'), 'utf8')).toBe('from-a\n');
  }, 60_000);

  it('a read-only volume cannot be written', async () => {
    const host = path.join(w.base, 'ro');
    fs.mkdirSync(host);
    const r = await w.run(['run', '--volume', `ro,kind=host,source=${host},readOnly=true`, w.busybox, '--mount', 'volume=ro,target=/ro', '--exec=/bin/touch', '--', '/ro/x']);
    expect(r.code).toBe(1);
    expect(fs.existsSync(path.join(host, 'x'))).toBe(false);
  });

  it('app output reaches capsule run and stays readable with capsule logs after exit', async () => {
    const r = await w.run(['run', '--uuid-file-save', path.join(w.base, 'logs'), w.busybox, '--exec=/bin/sh', '--', '-c', 'echo to-stdout; echo to-stderr >&2']);
    expect(r.stdout).toBe('to-stdout\n');
    expect(r.stderr).toBe('to-stderr\n');
    const uuid = fs.readFileSync(path.join(w.base, 'logs'), 'utf8').trim();
    const l = await w.run(['logs', uuid]);
    expect(l.code).toBe(0);
    expect(l.stdout).toContain('to-stdout');
    expect(l.stdout).toContain('to-stderr');
  });

  it('logs --timestamps dates lines by when the app wrote them; --since and --tail pick them', async () => {
    const before = Date.now();
    const r = await w.run(['run', '--uuid-file-save', path.join(w.base, 'logs-times'), w.busybox, '--exec=/bin/sh', '--', '-c', 'echo first; sleep 2; echo second >&2; sleep 0.5; echo third']);
    const after = Date.now();
    expect(r.code, r.stderr).toBe(0);
    const uuid = fs.readFileSync(path.join(w.base, 'logs-times'), 'utf8').trim();
    const l = await w.run(['logs', '--timestamps', uuid]);
    expect(l.code, l.stderr).toBe(0);
    const rows = l.stdout.split('\n').filter((x) => x !== '').map((x) => /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (.*)$/.exec(x));
    expect(rows.map((m) => m?.[2])).toEqual(['first', 'second', 'third']);
    const times = rows.map((m) => Date.parse(m![1]!));
    for (const t of times) {
      expect(t).toBeGreaterThanOrEqual(before - 1000);
      expect(t).toBeLessThanOrEqual(after);
    }
    // The sleep lies between the first line and the others: --since its middle keeps only those.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1000);
    const mid = new Date(times[0]! + 1000).toISOString();
    expect((await w.run(['logs', '--since', mid, uuid])).stdout).toBe('second\nthird\n');
    expect((await w.run(['logs', '--since', mid, '--tail', '1', uuid])).stdout).toBe('third\n');
    expect((await w.run(['logs', '--tail', '2', uuid])).stdout).toBe('second\nthird\n');
  }, 60_000);

  it('SIGTERM to capsule run stops the pod gracefully and capsule run exits', async () => {
    const child = w.spawnRun(['run', '--uuid-file-save', path.join(w.base, 'term'), w.probe, '--exec=/probe', '--', 'sleep', '600']);
    const uuidFile = path.join(w.base, 'term');
    await waitFor('the pod to run', async () => fs.existsSync(uuidFile) && (await stateOf(w, fs.readFileSync(uuidFile, 'utf8').trim())) === 'running');
    const uuid = fs.readFileSync(uuidFile, 'utf8').trim();
    await waitFor('the app to start', async () => /app-probe/.test((await w.run(['status', '--wait-ready=10s', uuid])).stdout) || true);
    child.kill('SIGTERM');
    expect(await child.exited).toBe(143);
    expect(child.err()).toBe('');
    expect(await stateOf(w, uuid)).toBe('exited');
    expect((await w.run(['status', uuid])).stdout).toMatch(/^app-probe=143$/m);
  }, 60_000);

  it('kill -9 of capsule run: the pod keeps running, status says so, then exited with the app code; gc removes everything', async () => {
    const uuidFile = path.join(w.base, 'k9');
    const child = w.spawnRun(['run', '--uuid-file-save', uuidFile, w.busybox, '--exec=/bin/sh', '--', '-c', 'sleep 2; exit 5']);
    await waitFor('the pod to run', async () => fs.existsSync(uuidFile) && (await stateOf(w, fs.readFileSync(uuidFile, 'utf8').trim())) === 'running');
    const uuid = fs.readFileSync(uuidFile, 'utf8').trim();
    child.kill('SIGKILL');
    await child.exited;
    expect(await stateOf(w, uuid)).toBe('running');
    const s = await w.run(['status', '--wait=20s', uuid]);
    expect(s.stdout).toMatch(/^state=exited$/m);
    expect(s.stdout).toMatch(/^app-busybox=5$/m);
    const gc = await w.run(['gc', '--grace-period=0s']);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toContain(`Garbage collecting pod "${uuid}"`);
    expect(leftovers([uuid])).toEqual([]);
    expect(w.pods().some((p) => p.endsWith(uuid))).toBe(false);
  }, 60_000);

  it('stop ends a running pod; enter runs a command with the app isolation while it runs', async () => {
    const uuidFile = path.join(w.base, 'stop');
    const child = w.spawnRun(['run', '--uuid-file-save', uuidFile, w.probe, '--exec=/probe', '--caps-retain=CAP_KILL', '--user=1000', '--', 'sleep', '600']);
    await waitFor('the pod to run', async () => fs.existsSync(uuidFile) && (await stateOf(w, fs.readFileSync(uuidFile, 'utf8').trim())) === 'running');
    const uuid = fs.readFileSync(uuidFile, 'utf8').trim();
    await w.run(['status', '--wait-ready=10s', uuid]);
    const e = await w.run(['enter', uuid, '/probe', 'uid', 'capbnd', 'seccomp', 'nonewprivs', 'hostname']);
    expect(e.code).toBe(0);
    expect(probeFacts(e.stdout)).toEqual({ uid: '1000', capbnd: '0000000000000020', seccomp: '2', nonewprivs: '0', hostname: `capsule-${uuid}` });
    const code = await w.run(['enter', uuid, '/probe', 'exit', '9']);
    expect(code.code).toBe(9);
    const st = await w.run(['stop', uuid]);
    expect(st.stdout).toBe(`"${uuid}"\n`);
    expect(await child.exited).toBe(143);
    const pid = Number(/^pid=(\d+)$/m.exec((await w.run(['status', uuid])).stdout)?.[1] ?? 0);
    expect(pid === 0 || !alive(pid)).toBe(true);
    const again = await w.run(['stop', uuid]);
    expect(again.stdout).toBe(`pod "${uuid}" is already stopped\n`);
  }, 60_000);

  it('enter -t gives the command a fresh pty of the pod with the caller\'s window size; by default on a terminal, never with --tty=false', async () => {
    const uuidFile = path.join(w.base, 'enter-tty');
    const child = w.spawnRun(['run', '--uuid-file-save', uuidFile, w.busybox, '--exec=/bin/sleep', '--', '600']);
    try {
      await waitFor('the pod to run', async () => fs.existsSync(uuidFile) && (await stateOf(w, fs.readFileSync(uuidFile, 'utf8').trim())) === 'running');
      const uuid = fs.readFileSync(uuidFile, 'utf8').trim();
      await w.run(['status', '--wait-ready=10s', uuid]);
      const env = { CAPSULE_RUNTIME_DIR: w.runtimeDir };
      const script = 'tty; stty size; echo sid=$(cut -d" " -f6 /proc/self/stat) pid=$$';
      // On a terminal, no flag: a pty, its size the caller's (33x101 here), its own session.
      const t = await onPty([CAPSULE, ...w.flags, 'enter', uuid, '/bin/sh', '-c', script], { rows: 33, cols: 101, env });
      expect(t.hung, t.text).toBe(false);
      expect(t.code, t.text).toBe(0);
      expect(t.text).toMatch(/^\/dev\/pts\/\d+$/m);
      expect(t.text).toMatch(/^33 101$/m);
      const ids = /sid=(\d+) pid=(\d+)/.exec(t.text);
      expect(ids?.[1]).toBe(ids?.[2]);
      // The caller's terminal resized: the pty follows (SIGWINCH through the helper).
      const resized = await onPty([CAPSULE, ...w.flags, 'enter', uuid, '/bin/sh', '-c', 'trap "stty size; exit 0" WINCH; echo ready; while :; do sleep 0.1; done'], { rows: 33, cols: 101, waitFor: 'ready', resize: [40, 120], env });
      expect(resized.hung, resized.text).toBe(false);
      expect(resized.code, resized.text).toBe(0);
      expect(resized.text).toMatch(/^40 120$/m);
      // Typed input reaches the command through the pty, and its exit code comes back.
      const typed = await onPty([CAPSULE, ...w.flags, 'enter', uuid, '/bin/sh', '-c', 'read x; echo got-$x; exit 7'], { input: 'hello\r', waitFor: '', env });
      expect(typed.code, typed.text).toBe(7);
      expect(typed.text).toContain('got-hello');
      // --tty=false on a terminal: the caller's stdio as it is, no pty of the pod's.
      // --tty=false on a terminal: the caller's stdio as it is, in a session of its own (no
      // controlling terminal, so no /dev/tty); with the pty, /dev/tty is the pty.
      const ctty = '(: </dev/tty) 2>/dev/null && echo has-ctty || echo no-ctty';
      const off = await onPty([CAPSULE, ...w.flags, 'enter', '--tty=false', uuid, '/bin/sh', '-c', ctty], { env });
      expect(off.code, off.text).toBe(0);
      expect(off.text).toContain('no-ctty');
      const on = await onPty([CAPSULE, ...w.flags, 'enter', uuid, '/bin/sh', '-c', ctty], { env });
      expect(on.text).toContain('has-ctty');
      // No terminal, -t: a pty all the same; without -t: none.
      const piped = await w.run(['enter', '-t', uuid, '/bin/sh', '-c', 'tty']);
      expect(piped.code, piped.stderr).toBe(0);
      expect(piped.stdout.replace(/\r\n/g, '\n')).toMatch(/^\/dev\/pts\/\d+\n$/);
      const plain = await w.run(['enter', uuid, '/bin/sh', '-c', 'tty']);
      expect(plain.stdout).toBe('not a tty\n');
      const bad = await w.run(['enter', '--tty=maybe', uuid, '/bin/true']);
      expect(bad.code).toBe(254);
      expect(errorLines(bad)).toEqual(['enter: invalid boolean value "maybe" for --tty (want true or false)']);
    } finally {
      if (fs.existsSync(uuidFile)) await w.run(['stop', '--force', fs.readFileSync(uuidFile, 'utf8').trim()]);
      await child.exited;
    }
  }, 90_000);

  it('enter on a pod that is not running says so before anything else (apps, the default command)', async () => {
    const r = await w.run(['run', '--uuid-file-save', path.join(w.base, 'enter-exited'), w.probe, '--name=a', '--exec=/probe', '--', 'exit', '0', '---', w.probe, '--name=b', '--exec=/probe', '--', 'exit', '0']);
    expect(r.code, r.stderr).toBe(0);
    const uuid = fs.readFileSync(path.join(w.base, 'enter-exited'), 'utf8').trim();
    for (const args of [['enter', uuid], ['enter', '--app=nope', uuid], ['enter', '-t', uuid, '/bin/true']]) {
      const e = await w.run(args);
      expect(e.code).toBe(254);
      expect(e.stderr, args.join(' ')).toBe(`enter: pod "${uuid}" isn't currently running\n`);
    }
  });

  it('enter refuses pods that are not running', async () => {
    const p = await w.run(['prepare', w.probe]);
    const uuid = p.stdout.trim();
    const r = await w.run(['enter', uuid, '/bin/true']);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual([`enter: pod "${uuid}" isn't currently running`]);
  });

  it('removing a pod\'s image keeps the tree the pod uses until the pod is gone', async () => {
    const own = await makePodWorld('capsule-pods-rm-');
    try {
      const uuid = (await own.run(['prepare', own.busybox, '--exec=/bin/echo', '--', 'still-here'])).stdout.trim();
      expect((await own.run(['image', 'rm', own.busybox])).code).toBe(0);
      expect((await own.run(['image', 'gc', '--grace-period=0s'])).code).toBe(0);
      const r = await own.run(['run-prepared', uuid]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('still-here\n');
      expect((await own.run(['gc', '--grace-period=0s'])).code).toBe(0);
      const gc = await own.run(['image', 'gc', '--grace-period=0s']);
      expect(gc.stderr).toMatch(/removed treestore "deps-sha512-/);
    } finally {
      await own.teardown();
    }
  }, 60_000);

  it('--no-overlay runs the app on a private copy of its tree; the tree itself never changes', async () => {
    const uuidFile = path.join(w.base, 'copy');
    const r = await w.run(['run', '--no-overlay', '--uuid-file-save', uuidFile, w.busybox, '--exec=/bin/sh', '--', '-c', 'echo changed > /bin/new-file; cat /etc/hostname; test -L /etc/mtab && echo mtab']);
    expect(r.code).toBe(0);
    const uuid = fs.readFileSync(uuidFile, 'utf8').trim();
    expect(r.stdout).toBe(`capsule-${uuid}\nmtab\n`);
    const pod = w.pods().find((p) => p.endsWith(uuid)) ?? '';
    expect(fs.readFileSync(path.join(pod, 'apps/busybox/rootfs/bin/new-file'), 'utf8')).toBe('changed\n');
    expect(fs.existsSync(path.join(pod, 'apps/busybox/upper'))).toBe(false);
    const trees = fs.readdirSync(path.join(w.dir, 'tree'));
    for (const t of trees) expect(fs.existsSync(path.join(w.dir, 'tree', t, 'rootfs/bin/new-file'))).toBe(false);
  });
});
