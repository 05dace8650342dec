/**
 * systemd readiness through `capsule run` (docs/systemd.md, "Readiness"): with NOTIFY_SOCKET set,
 * READY=1 reaches that socket once every app has started; an image annotated
 * `appc.io/executor/supports-systemd-notify=true` gets the socket itself and Capsule sends no
 * READY=1 for it. Node has no unix datagram sockets: python3 listens and prints what it receives.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appPids, makePodWorld, parseEnviron, podSkipReason, startPod, stopAndCollect, waitFor, type PodWorld, type RunChild, type RunningPod } from '../helpers/pods.js';

function skipReason(): string | null {
  const pods = podSkipReason();
  if (pods) return pods;
  const py = spawnSync('python3', ['-c', 'import socket, json; socket.AF_UNIX'], { encoding: 'utf8' });
  if (py.status !== 0) return `needs python3 to listen on a unix datagram socket (${py.error?.message ?? py.stderr.trim()})`;
  return null;
}
const skip = skipReason();
if (skip) process.stderr.write(`skipping run-notify tests: ${skip}\n`);

/** A C compiler for the in-image sender of READY=1 (busybox has no way to send a unix datagram). */
const CC = ['cc', 'gcc'].find((c) => spawnSync(c, ['--version']).status === 0) ?? null;
const noSender = CC === null ? 'no C compiler to build an sd_notify sender for the image' : null;
if (!skip && noSender) process.stderr.write(`skipping the app's own READY=1 test: ${noSender}\n`);

const RECEIVER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    print(json.dumps(s.recv(65536).decode("utf-8", "replace")), flush=True)
`;

const SENDER_C = `
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(int argc, char **argv) {
  const char *p = getenv("NOTIFY_SOCKET");
  const char *msg = argc > 1 ? argv[1] : "READY=1";
  if (!p || !*p) { fprintf(stderr, "sd-notify: no NOTIFY_SOCKET\\n"); return 2; }
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  size_t len = strlen(p);
  if (len >= sizeof sa.sun_path) return 3;
  memcpy(sa.sun_path, p, len);
  if (p[0] == '@') sa.sun_path[0] = 0;
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (p[0] != '@'));
  if (fd < 0 || sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, salen) < 0) { perror("sd-notify"); return 1; }
  return 0;
}
`;

interface Message { text: string; /** Set by the caller's hook when the message arrived. */ note: unknown }

/** python3 bound to a unix datagram socket at `sock`; every datagram, in order. */
async function listen(sock: string, onMessage: (text: string) => unknown = () => null): Promise<{ messages: Message[]; proc: ChildProcess; close: () => Promise<void> }> {
  const proc = spawn('python3', ['-c', RECEIVER, sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages: Message[] = [];
  let buf = '';
  let ready = false;
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line === 'listening') ready = true;
      else {
        const text = JSON.parse(line) as string;
        messages.push({ text, note: onMessage(text) });
      }
    }
  });
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor('the receiver to listen', () => ready || gone, 10_000);
  if (!ready) throw new Error(`python3 receiver: ${err}`);
  return {
    messages,
    proc,
    close: async () => {
      if (!gone) proc.kill('SIGTERM');
      await exited;
      fs.rmSync(sock, { force: true });
    },
  };
}

const tags = (m: Message): string[] => m.text.split(/[\n\r]+/).filter(Boolean);
const readies = (ms: Message[]): Message[] => ms.filter((m) => tags(m).includes('READY=1'));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip !== null)('capsule run and systemd readiness (NOTIFY_SOCKET)', () => {
  let w: PodWorld;
  /** An image annotated supports-systemd-notify: busybox, plus /bin/sd-notify when a compiler is here. */
  let notifier = '';
  const live: RunningPod[] = [];
  const receivers: Array<{ close: () => Promise<void> }> = [];
  /** `capsule run`s started by hand: SIGTERM (a graceful stop) if a failed test left one running. */
  const runs: RunChild[] = [];

  beforeAll(async () => {
    w = await makePodWorld('capsule-notify-');
    const dir = path.join(w.base, 'notifier');
    fs.mkdirSync(dir);
    const ex = await w.run(['image', 'extract', '--rootfs-only', w.busybox, path.join(dir, 'rootfs')]);
    expect(ex.code, ex.stderr).toBe(0);
    if (CC) {
      fs.writeFileSync(path.join(w.base, 'sd-notify.c'), SENDER_C);
      const cc = spawnSync(CC, ['-static', '-O2', '-o', path.join(dir, 'rootfs/bin/sd-notify'), path.join(w.base, 'sd-notify.c')], { encoding: 'utf8' });
      expect(cc.status, cc.stderr).toBe(0);
    }
    const base = JSON.parse((await w.run(['image', 'cat-manifest', w.busybox])).stdout) as { labels: unknown[] };
    // The app reports what it got, waits for /tmp/go (made with `capsule enter`), then reports its own readiness.
    const script = 'echo "notify-socket=$NOTIFY_SOCKET"; test -S "$NOTIFY_SOCKET" && echo socket-ok; while [ ! -e /tmp/go ]; do sleep 0.1; done; /bin/sd-notify READY=1 && echo sent-ready; exec sleep 600';
    fs.writeFileSync(path.join(dir, 'manifest'), JSON.stringify({
      acKind: 'ImageManifest',
      acVersion: '0.8.11',
      name: 'example.com/capsule/notifier',
      labels: base.labels,
      app: { exec: ['/bin/sh', '-c', script], user: '0', group: '0', environment: [{ name: 'PATH', value: '/usr/sbin:/usr/bin:/sbin:/bin' }] },
      annotations: [{ name: 'appc.io/executor/supports-systemd-notify', value: 'true' }],
    }));
    const aci = path.join(w.base, 'notifier.aci');
    const b = await w.run(['image', 'build', dir, aci]);
    expect(b.code, b.stderr).toBe(0);
    const f = await w.run(['--insecure-options=image', 'fetch', '--full', aci]);
    expect(f.code, f.stderr).toBe(0);
    notifier = f.stdout.trim();
  }, 120_000);

  afterEach(async () => {
    for (const p of live.splice(0)) await stopAndCollect(w, p);
    const stray = runs.splice(0).filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of stray) {
      c.kill('SIGTERM');
      await c.exited;
    }
    if (stray.length > 0) await w.run(['gc', '--grace-period=0s']);
    for (const r of receivers.splice(0)) await r.close();
  });
  afterAll(async () => {
    await w?.teardown();
  });

  const finish = async (p: RunningPod): Promise<void> => {
    live.splice(live.indexOf(p), 1);
    const end = await stopAndCollect(w, p);
    expect(end.stop.code).toBe(0);
    expect(end.runExit).toBe(143);
    expect(end.left).toEqual([]);
    expect(end.onDisk).toBe(false);
  };

  it('READY=1 reaches NOTIFY_SOCKET once, after the app has started; an app without the annotation does not get the socket', async () => {
    const sock = path.join(w.base, 'ready.sock');
    const uuidFile = path.join(w.base, 'ready-uuid');
    // Whether the app had started (status/<app>.started) at the moment each message arrived.
    const started = (): boolean => {
      const uuid = fs.existsSync(uuidFile) ? fs.readFileSync(uuidFile, 'utf8').trim() : '';
      return uuid !== '' && fs.existsSync(path.join(w.dir, 'pods/run', uuid, 'status/probe.started'));
    };
    const r = await listen(sock, () => started());
    receivers.push(r);
    const child = w.spawnRun(['run', '--uuid-file-save', uuidFile, w.probe, '--exec=/probe', '--', 'sleep', '600'], { NOTIFY_SOCKET: sock });
    runs.push(child);
    await waitFor('READY=1', () => readies(r.messages).length > 0 || child.exitCode !== null);
    const uuid = fs.readFileSync(uuidFile, 'utf8').trim();
    const s = await w.run(['status', uuid]);
    const pod: RunningPod = { uuid, child, initPid: Number(/^pid=(\d+)$/m.exec(s.stdout)?.[1] ?? 0) };
    live.push(pod);
    expect(s.stdout).toMatch(/^state=running$/m);
    expect(readies(r.messages).map((m) => m.note)).toEqual([true]);
    const app = appPids(pod).probe ?? 0;
    expect(app).toBeGreaterThan(0);
    expect(parseEnviron(fs.readFileSync(`/proc/${app}/environ`, 'utf8'))).not.toHaveProperty('NOTIFY_SOCKET');
    await sleep(1000);
    await finish(pod);
    expect(readies(r.messages)).toHaveLength(1); // once, also counting what came while stopping
  }, 60_000);

  it('an image annotated supports-systemd-notify gets NOTIFY_SOCKET and the socket; capsule sends no READY=1 for it', async () => {
    const sock = path.join(w.base, 'app.sock');
    const r = await listen(sock);
    receivers.push(r);
    const pod = await startPod(w, [notifier], { NOTIFY_SOCKET: sock });
    live.push(pod);
    await waitFor('the app to report', () => pod.child.out().includes('socket-ok') || pod.child.exitCode !== null);
    const inApp = /^notify-socket=(.*)$/m.exec(pod.child.out())?.[1] ?? '';
    expect(inApp).toMatch(/^\//);
    expect(pod.child.out()).toContain('socket-ok\n');
    const app = appPids(pod).notifier ?? 0;
    expect(parseEnviron(fs.readFileSync(`/proc/${app}/environ`, 'utf8')).NOTIFY_SOCKET).toBe(inApp);
    expect(fs.statSync(`/proc/${app}/root${inApp}`).isSocket()).toBe(true);
    // The app has started and has not said it is ready: nothing may claim it is.
    await sleep(1500);
    expect(readies(r.messages)).toEqual([]);
    expect(r.messages.length).toBeGreaterThan(0); // nspawn did talk to the socket (STATUS=…)
    expect(pod.child.out()).not.toContain('sent-ready');
    await finish(pod);
    expect(readies(r.messages)).toEqual([]);
  }, 60_000);

  // KNOWN BUG: systemd-nspawn accepts notify messages on its in-container socket only from the
  // container's PID 1 (nspawn_dispatch_notify_fd: `ucred->pid != inner_child_pid` → "Received
  // notify message without valid credentials. Ignoring."). The pod's init binds that very socket
  // into the app (isolation.c bind_notify_socket) and sends nothing itself (`notify 0` when an app
  // supports notify), so the app's own READY=1 is dropped and a Type=notify unit never becomes
  // ready (docs/systemd.md promises it does). The init would have to relay it. Flip to `it` once fixed.
  it.skipIf(noSender !== null)("the app's own READY=1 reaches NOTIFY_SOCKET (relayed by the pod's init: nspawn believes only its PID 1)", async () => {
    const sock = path.join(w.base, 'own.sock');
    const r = await listen(sock);
    receivers.push(r);
    const pod = await startPod(w, [notifier], { NOTIFY_SOCKET: sock });
    live.push(pod);
    await waitFor('the app to report', () => pod.child.out().includes('socket-ok'));
    await sleep(500);
    expect(readies(r.messages)).toEqual([]); // only the app may make it ready
    expect((await w.run(['enter', pod.uuid, '/bin/touch', '/tmp/go'])).code).toBe(0);
    await waitFor('the app to send READY=1', () => pod.child.out().includes('sent-ready'));
    await waitFor('READY=1 on NOTIFY_SOCKET', () => readies(r.messages).length > 0, 5_000);
    expect(readies(r.messages)).toHaveLength(1);
    await finish(pod);
  }, 60_000);
});
