/**
 * A real distribution image, as users run them: a Debian 12 (bookworm) minbase rootfs built by
 * mmdebstrap from Debian's archive, made into a two-layer OCI image with umoci (the rootfs as
 * the base layer; an application layer with a whiteout of the base's /etc/motd, a hardlink to
 * the base's /usr/bin/perl and a file of its own), pushed with skopeo to Debian's
 * docker-registry, then `capsule run docker://…`.
 *
 * The built layout is cached in node_modules/.cache/capsule-oc-debian/ between runs on one
 * machine (delete it to rebuild); in CI it is built once per run (mmdebstrap takes 13-40 s).
 * Skips, saying why, only when mmdebstrap cannot reach Debian's archive.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { rawTar } from '../helpers/images.js';
import { makePodWorld, podSkipReason, type PodWorld } from '../helpers/pods.js';
import { skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { testCa, type TestCa } from '../helpers/test-ca.js';

const execFileP = promisify(execFile);
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'capsule-oc-debian', 'v1');
const SUITE = 'bookworm';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping run-debian tests: ${skip}\n`);

/** The application layer: whites out /etc/motd, hardlinks the base's perl, adds a file. */
function appLayer(): Buffer {
  return rawTar([
    { path: 'etc/', type: 'Directory' },
    { path: 'etc/.wh.motd', body: '' },
    { path: 'usr/', type: 'Directory' },
    { path: 'usr/local/', type: 'Directory' },
    { path: 'usr/local/bin/', type: 'Directory' },
    { path: 'usr/local/bin/perl-again', type: 'Link', linkpath: 'usr/bin/perl' },
    { path: 'srv/', type: 'Directory' },
    { path: 'srv/hello.txt', body: 'hello from the app layer\n' },
  ]);
}

/** Builds (or reuses) the OCI layout; returns null when done, or why the archive was unreachable. */
async function buildLayout(): Promise<string | null> {
  if (fs.existsSync(path.join(CACHE, 'done'))) return null;
  const work = `${CACHE}.tmp-${process.pid}`;
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  try {
    const rootTar = path.join(work, 'rootfs.tar');
    try {
      await execFileP('mmdebstrap', ['--quiet', '--variant=minbase', '--mode=root', '--format=tar', SUITE, rootTar], { maxBuffer: 64 << 20 });
    } catch (e) {
      const err = (e as { stderr?: string }).stderr ?? String(e);
      // Only an unreachable archive may skip; anything else is a failure.
      if (/Could not resolve|Failed to fetch|Temporary failure|Connection (refused|timed out)|Network is unreachable|Unable to connect/i.test(err)) return `mmdebstrap cannot reach Debian's archive: ${err.trim().split('\n').at(-1) ?? ''}`;
      throw new Error(`mmdebstrap failed: ${err}`);
    }
    const layout = path.join(work, 'layout');
    const umoci = (args: string[]): Promise<unknown> => execFileP('umoci', args, { maxBuffer: 16 << 20 });
    await umoci(['init', '--layout', layout]);
    await umoci(['new', '--image', `${layout}:base`]);
    await umoci(['raw', 'add-layer', '--image', `${layout}:base`, rootTar]);
    fs.rmSync(rootTar);
    const app = path.join(work, 'app.tar');
    fs.writeFileSync(app, appLayer());
    await umoci(['raw', 'add-layer', '--image', `${layout}:base`, '--tag', 'app', app]);
    await umoci(['config', '--image', `${layout}:app`, '--config.entrypoint', '/bin/sh', '--config.entrypoint', '-c', '--config.cmd', 'cat /srv/hello.txt', '--config.env', 'PATH=/usr/local/bin:/usr/bin:/bin']);
    fs.writeFileSync(path.join(work, 'done'), '');
    fs.rmSync(CACHE, { recursive: true, force: true });
    fs.renameSync(work, CACHE);
    return null;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

describe.skipIf(skip !== null)('a Debian 12 image from mmdebstrap, through a registry', () => {
  let unreachable: string | null = null;
  let ca: TestCa;
  let reg: TestRegistry;
  let w: PodWorld;
  let ref: string;

  beforeAll(async () => {
    unreachable = await buildLayout();
    if (unreachable !== null) {
      process.stderr.write(`skipping run-debian tests: ${unreachable}\n`);
      return;
    }
    ca = testCa();
    reg = await startRegistry({ tls: ca });
    ref = `${reg.host}/debian/app:12`;
    await skopeoPush(`oci:${path.join(CACHE, 'layout')}:app`, ref);
    w = await makePodWorld('capsule-oc-debian-');
    fs.mkdirSync(path.join(w.localConfig, 'tls.d'), { recursive: true });
    fs.copyFileSync(ca.ca.certFile, path.join(w.localConfig, 'tls.d', 'ca.pem'));
  }, 300_000);

  afterAll(async () => {
    await w?.teardown();
    await reg?.stop();
    ca?.cleanup();
  });

  it('runs it: Cmd from the app layer, /etc/debian_version, dpkg’s database, a hardlink across layers, a whiteout', async (ctx) => {
    if (unreachable !== null) return ctx.skip();
    const first = await w.run(['--insecure-options=image', 'run', '--net=none', `docker://${ref}`]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe('hello from the app layer\n');
    const script = [
      'cat /etc/debian_version',
      "dpkg-query -W -f='${Package} ${Status}\\n' dpkg apt base-files",
      'stat -c %i /usr/bin/perl /usr/bin/perl5.36.0 /usr/local/bin/perl-again',
      'stat -c %h /usr/bin/perl',
      'test -e /etc/motd && echo motd-present || echo motd-gone',
      'test -e /etc/issue && echo issue-present',
      'perl-again -e "print qq(perl runs\\n)"',
      'exit 5',
    ].join('; ');
    const r = await w.run(['--insecure-options=image', 'run', '--net=none', `docker://${ref}`, '--', script]);
    expect(r.code, r.stderr).toBe(5);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^12\.\d+$/);
    expect(lines.slice(1, 4).sort()).toEqual(['apt install ok installed', 'base-files install ok installed', 'dpkg install ok installed']);
    const inodes = lines.slice(4, 7);
    expect(new Set(inodes).size, inodes.join(' ')).toBe(1);
    expect(Number(lines[7])).toBe(3);
    expect(lines.slice(8)).toEqual(['motd-gone', 'issue-present', 'perl runs']);
  }, 300_000);
});
