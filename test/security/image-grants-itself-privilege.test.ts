// A signed (here: unsigned, fetched with --insecure-options=image) image asks, through its own
// isolators, for capabilities beyond the default set, a seccomp filter that lets through what the
// default one blocks, or isolators Capsule would ignore. rkt granted these; Capsule refuses to
// start the app unless the user grants them. The victim is a host directory the app would
// empty if it ran: it stays untouched, and the error lists what the image asked for.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { simpleAci } from '../helpers/images.js';
import { podSkipReason } from '../helpers/pods.js';
import { SECRET } from '../helpers/victim.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping image privilege tests: ${skip}\n`);

const BUSYBOX = '/bin/busybox';

describe.skipIf(skip !== null)('an image cannot grant itself privilege', () => {
  let w: World;
  let victim: string;
  let n = 0;

  beforeAll(() => {
    w = makeWorld('capsule-sec-hd-');
    victim = path.join(w.base, 'victim');
    fs.mkdirSync(victim);
    fs.writeFileSync(path.join(victim, 'secret'), SECRET);
  });
  afterAll(async () => {
    await w.run(['gc', '--grace-period=0s', '--expire-prepared=0s']);
    w.cleanup();
  });

  /** Fetches an image whose app empties /victim, with the given isolators; returns its ID. */
  async function image(isolators: unknown[]): Promise<string> {
    const file = path.join(w.base, `img${n}.aci`);
    const app = { exec: ['/bin/busybox', 'rm', '-f', '/victim/secret'], user: '0', group: '0', isolators };
    const aci = simpleAci(`example.com/greedy-${n++}`, [{ path: 'rootfs/bin/', type: 'Directory' }, { path: 'rootfs/bin/busybox', mode: 0o755, body: fs.readFileSync(BUSYBOX) }], { app });
    fs.writeFileSync(file, aci);
    const r = await w.run(['--insecure-options=image', 'fetch', '--full', file]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  }

  const vol = (): string[] => [`--volume=victim,kind=host,source=${victim}`, '--mount=volume=victim,target=/victim'];

  it.each<[string, unknown[], RegExp]>([
    ['capabilities beyond the default set (CAP_SYS_ADMIN, CAP_SYS_PTRACE)', [{ name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_KILL'] } }], /asks for capabilities beyond the default set: CAP_SYS_PTRACE, CAP_SYS_ADMIN; grant them with --caps-retain=/],
    ['a seccomp retain set of everything (@appc.io/all)', [{ name: 'os/linux/seccomp-retain-set', value: { set: ['@appc.io/all'] } }], /asks for a seccomp filter that allows what the default one blocks: all syscalls/],
    ['a seccomp remove set that lets mount and ptrace through', [{ name: 'os/linux/seccomp-remove-set', value: { set: ['reboot'] } }], /asks for a seccomp filter that allows what the default one blocks: .*mount.*ptrace/],
    ['an isolator Capsule would ignore', [{ name: 'os/linux/apparmor-profile', value: { profile: 'unconfined' } }], /sets isolators Capsule does not support: os\/linux\/apparmor-profile/],
  ])('%s: refused at run and at prepare, the app never runs', async (_what, isolators, problem) => {
    const id = await image(isolators);
    for (const cmd of ['run', 'prepare']) {
      const r = await w.run([cmd, ...vol(), id]);
      expect(r.code, r.stderr).toBe(254);
      const lines = errorLines(r);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^${cmd}: .*app "greedy-\\d+": image "example.com/greedy-\\d+" `));
      expect(lines[0]).toMatch(problem);
      expect(fs.readFileSync(path.join(victim, 'secret'), 'utf8')).toBe(SECRET);
    }
  });

  it('the user grants the capabilities with --caps-retain naming them: the app runs', async () => {
    const id = await image([{ name: 'os/linux/capabilities-retain-set', value: { set: ['CAP_SYS_ADMIN'] } }]);
    const keep = path.join(victim, 'granted');
    fs.writeFileSync(keep, 'x');
    const r = await w.run(['run', `--volume=victim,kind=host,source=${victim}`, '--mount=volume=victim,target=/victim', id, '--caps-retain=CAP_SYS_ADMIN', '--exec=/bin/busybox', '--', 'rm', '/victim/granted']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(keep)).toBe(false);
    expect(fs.readFileSync(path.join(victim, 'secret'), 'utf8')).toBe(SECRET);
  });
});
