import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxEntries, buildImage, writeImageLayout } from '../helpers/oci-images.js';
import { makePodWorld, podSkipReason, startPod, stopAndCollect, waitFor, type PodWorld } from '../helpers/pods.js';
import type { RawEntry } from '../helpers/images.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping run-oci tests: ${skip}\n`);

/** busybox, with appuser (1234, primary group 2345) also listed in group staff (50). */
function base(): RawEntry[] {
  return busyboxEntries().map((e) => (e.path === 'etc/group' ? { ...e, body: 'root:x:0:\nappgroup:x:2345:\nstaff:x:50:appuser\nnogroup:x:65534:\n' } : e));
}

const SCRIPT = 'echo entry; id -u; id -g; id -G; pwd; echo "greeting=$GREETING"; ls /etc; ls /opaque; echo "args=$0 $*"';

describe.skipIf(skip !== null)('running OCI images', () => {
  let w: PodWorld;
  let layered: string;
  let stopper: string;
  let volumed: string;
  beforeAll(async () => {
    w = await makePodWorld('capsule-oc-pods-');
    const img = buildImage({
      layers: [
        { entries: [...base(), { path: 'etc/gone', body: 'lower' }, { path: 'opaque/', type: 'Directory' }, { path: 'opaque/lower', body: 'l' }, { path: 'work/', type: 'Directory' }] },
        { entries: [{ path: 'etc/.wh.gone', body: '' }, { path: 'opaque/.wh..wh..opq', body: '' }, { path: 'opaque/upper', body: 'u' }] },
      ],
      run: { Entrypoint: ['/bin/sh', '-c'], Cmd: [SCRIPT, 'zero', 'one'], Env: ['GREETING=hello', 'PATH=/bin'], User: 'appuser', WorkingDir: '/work', StopSignal: 'SIGTERM' },
    });
    layered = `oci:${writeImageLayout(path.join(w.base, 'layered'), img, 'v1')}:v1`;
    const st = buildImage({
      layers: [{ entries: base() }],
      run: { Cmd: ['/bin/sh', '-c', 'trap "echo got-usr1; exit 7" USR1; trap "echo got-term; exit 8" TERM; echo waiting; while true; do sleep 0.1; done'], StopSignal: 'SIGUSR1', Env: ['PATH=/bin'] },
    });
    stopper = `oci:${writeImageLayout(path.join(w.base, 'stopper'), st)}`;
    const vol = buildImage({
      layers: [{ entries: [...base(), { path: 'data/', type: 'Directory' }, { path: 'data/seed', body: 'from the image' }] }],
      run: { Cmd: ['/bin/cat', '/data/seed'], Volumes: { '/data': {} }, Env: ['PATH=/bin'] },
    });
    volumed = `oci:${writeImageLayout(path.join(w.base, 'volumed'), vol)}`;
  }, 120_000);
  afterAll(async () => {
    await w?.teardown();
  });

  it('applies the layers (whiteouts, opaque dir) and Entrypoint + Cmd, Env, User with its groups, WorkingDir', async () => {
    const r = await w.run(['--insecure-options=image', 'run', '--net=none', layered]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('entry');
    expect(lines.slice(1, 5)).toEqual(['1234', '2345', '2345 50', '/work']);
    expect(lines).toContain('greeting=hello');
    expect(r.stdout).not.toContain('gone');
    expect(lines).toContain('upper');
    expect(lines).not.toContain('lower');
    expect(lines.at(-1)).toBe('args=zero one');
  }, 60_000);

  it('arguments after -- replace Cmd (the Entrypoint stays)', async () => {
    const r = await w.run(['--insecure-options=image', 'run', '--net=none', layered, '--', 'echo "replaced $0"', 'x']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('replaced x');
  }, 60_000);

  it('--exec replaces the Entrypoint (and the image Cmd); --user overrides User', async () => {
    const a = await w.run(['--insecure-options=image', 'run', '--net=none', layered, '--exec=/bin/echo', '--', 'direct']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.trim()).toBe('direct');
    const b = await w.run(['--insecure-options=image', 'run', '--net=none', layered, '--exec=/bin/id', '--user=0', '--', '-u']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout.trim()).toBe('0');
  }, 60_000);

  it('StopSignal: capsule stop sends the image’s stop signal', async () => {
    const pod = await startPod(w, ['--insecure-options=image', '--net=none', stopper, '--name=stopper']);
    await waitFor('the app to set its traps', () => pod.child.out().includes('waiting'));
    const res = await stopAndCollect(w, pod);
    expect(res.stop.code, res.stop.stderr).toBe(0);
    expect(pod.child.out()).toContain('got-usr1');
    expect(pod.child.out()).not.toContain('got-term');
    expect(res.runExit).toBe(7);
    expect(res.left).toEqual([]);
  }, 60_000);

  it('StopSignal: SIGTERM to capsule run stops the app with the image’s stop signal', async () => {
    const pod = await startPod(w, ['--insecure-options=image', '--net=none', stopper, '--name=stopper']);
    await waitFor('the app to set its traps', () => pod.child.out().includes('waiting'));
    pod.child.kill('SIGTERM');
    expect(await pod.child.exited).toBe(7);
    expect(pod.child.out()).toContain('got-usr1');
    expect((await w.run(['status', pod.uuid])).stdout).toMatch(/^app-stopper=7$/m);
  }, 60_000);

  it('Volumes: an implicit volume starts with the image’s content (Docker’s prefill); a --volume replaces it', async () => {
    const r = await w.run(['--insecure-options=image', 'run', '--net=none', volumed]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('from the image');
    expect(r.stderr).toContain('no volume specified for mount point "volume-data"');
    const host = path.join(w.base, 'hostdata');
    fs.mkdirSync(host);
    fs.writeFileSync(path.join(host, 'seed'), 'from the host');
    const h = await w.run(['--insecure-options=image', 'run', '--net=none', `--volume=volume-data,kind=host,source=${host}`, volumed]);
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toBe('from the host');
  }, 60_000);

  it('the pod manifest records the OCI image by its config digest', async () => {
    const p = await w.run(['--insecure-options=image', 'prepare', layered]);
    expect(p.code, p.stderr).toBe(0);
    const uuid = p.stdout.trim();
    const m = JSON.parse((await w.run(['cat-manifest', uuid])).stdout) as { apps: { name: string; image: { id: string; name: string } }[] };
    const id = (await w.run(['image', 'list', '--no-legend', '--full', '--fields', 'id,name'])).stdout.split('\n').find((l) => l.includes('localhost/layered'))?.split(/\s+/)[0];
    expect(m.apps[0]?.image.id).toBe(id);
    expect(m.apps[0]?.image.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(m.apps[0]?.image.name).toBe('localhost/layered');
    expect((await w.run(['rm', uuid])).code).toBe(0);
  }, 60_000);

  it('a pod mixes an ACI and an OCI image', async () => {
    const r = await w.run(['--insecure-options=image', 'run', '--net=none', w.busybox, '--name=aci', '--exec=/bin/echo', '--', 'from-aci', '---', layered, '--name=oci', '--', 'echo from-oci']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('from-aci');
    expect(r.stdout).toContain('from-oci');
  }, 60_000);
});
