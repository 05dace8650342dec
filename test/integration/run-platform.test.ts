/**
 * An image must say it runs here (rkt's stage0 checks): its manifest names the host's os and
 * arch in the `os` and `arch` labels. Without them, or with another os or arch, `fetch` stores
 * nothing and `run`/`prepare` start nothing, exit 254 with rkt's message. (Images reaching the
 * store as dependencies, which need no labels, are refused by ID at run: discovery.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostOsArch } from '../../src/spec/os-arch.js';
import { errorLines, makeWorld, type RunResult, type World } from '../helpers/cli.js';
import { rawTar } from '../helpers/images.js';
import { fetchInsecure, listJson, writeImage } from '../helpers/store-check.js';

const host = hostOsArch();
const otherArch = host.arch === 'amd64' ? 'aarch64' : 'amd64';

/** An ACI whose manifest has exactly these labels (no helper adds os/arch here). */
function imageWith(name: string, labels: Array<{ name: string; value: string }>): Buffer {
  const manifest = JSON.stringify({ acKind: 'ImageManifest', acVersion: '0.8.11', name, labels: [{ name: 'version', value: '1.2.1' }, ...labels], app: { exec: ['/bin/true'], user: '0', group: '0' } });
  return rawTar([{ path: 'rootfs/', type: 'Directory' }, { path: 'manifest', body: manifest }], { gzip: true });
}

const cases: Array<[string, Array<{ name: string; value: string }>, RegExp]> = [
  ['no os label', [{ name: 'arch', value: host.arch }], /: missing os label in the image manifest$/],
  ['no arch label', [{ name: 'os', value: host.os }], /: missing arch label in the image manifest$/],
  ['os=freebsd', [{ name: 'os', value: 'freebsd' }, { name: 'arch', value: 'amd64' }], /: bad os "freebsd" \(must be one of: linux\)$/],
  ['another arch than the host', [{ name: 'os', value: host.os }, { name: 'arch', value: otherArch }], new RegExp(`: bad arch "${otherArch}" for linux \\(must be one of: ${host.arch}\\)$`)],
];

/** One line naming the problem (besides the unsigned-image warning), exit 254, nothing on stdout. */
function expectRefused(r: RunResult, command: string, why: RegExp): void {
  expect(r.code, r.stderr).toBe(254);
  expect(r.stdout).toBe('');
  const lines = errorLines(r).filter((l) => !l.includes('signature verification has been disabled'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^${command}: `));
  expect(lines[0]).toMatch(why);
}

describe('os and arch labels', () => {
  let w: World;
  beforeAll(() => {
    w = makeWorld('capsule-pr-platform-');
  });
  afterAll(() => w.cleanup());

  it.each(cases)('fetch refuses an image with %s and stores nothing', async (what, labels, why) => {
    const file = writeImage(w, `${what.replace(/\W/g, '-')}.aci`, imageWith(`example.com/${what.replace(/\W/g, '-')}`, labels));
    expectRefused(await fetchInsecure(w, [file]), 'fetch', why);
    expect(await listJson(w)).toEqual([]);
  });

  it('the host os and arch are accepted', async () => {
    const file = writeImage(w, 'good.aci', imageWith('example.com/good', [{ name: 'os', value: host.os }, { name: 'arch', value: host.arch }]));
    const r = await fetchInsecure(w, [file]);
    expect(r.code, r.stderr).toBe(0);
    expect((await listJson(w)).map((i) => i.name)).toEqual(['example.com/good:1.2.1']);
  });

  describe.skipIf(process.getuid?.() !== 0)('run and prepare (root)', () => {
    it.each(cases)('run and prepare by file refuse an image with %s; no pod is made', async (what, labels, why) => {
      const file = writeImage(w, `run-${what.replace(/\W/g, '-')}.aci`, imageWith(`example.com/run-${what.replace(/\W/g, '-')}`, labels));
      expectRefused(await w.run(['--insecure-options=image', 'run', file]), 'run', why);
      expectRefused(await w.run(['--insecure-options=image', 'prepare', file]), 'prepare', why);
      const list = await w.run(['list', '--no-legend']);
      expect(list.stdout).toBe('');
      expect((await listJson(w)).map((i) => i.name)).not.toContain(`example.com/run-${what.replace(/\W/g, '-')}`);
    });
  });
});
