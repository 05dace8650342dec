import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, ROOT, runCapsule, type World } from '../helpers/cli.js';
import { simpleAci } from '../helpers/images.js';
import { expectedId, key64, short32, writeImage } from '../helpers/store-check.js';

describe('capsule CLI conventions', () => {
  let w: World;
  let file: string;
  let id: string;
  beforeAll(() => {
    w = makeWorld();
    const aci = simpleAci('example.com/cli', [{ path: 'rootfs/x', body: 'x' }]);
    id = expectedId(aci);
    file = writeImage(w, 'cli.aci', aci);
  });
  afterAll(() => w.cleanup());

  it('version prints capsule, appc, Node and nspawn versions', async () => {
    const r = await runCapsule(['version']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`capsule Version: ${pkg.version}`);
    expect(lines[1]).toBe('appc Version: 0.8.11');
    expect(lines[2]).toBe(`Node Version: ${process.version}`);
    expect(lines[3]).toMatch(/^Node OS\/Arch: linux\/(amd64|aarch64|i386|armv7l|ppc64le|s390x)$/);
    expect(lines[4]).toMatch(/^systemd-nspawn Version: (\d+ \(\/.*systemd-nspawn\)|not found)$/);
    expect(lines).toHaveLength(5);
  });

  it('global flags work before the subcommand, between, and after it', async () => {
    const dir = `--dir=${w.dir}`;
    const fetched = await runCapsule(['fetch', file, '--insecure-options=image', dir]);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout.trim()).toBe(short32(id));
    expect(fetched.stderr).toContain('warning: image signature verification has been disabled');
    for (const args of [
      [dir, 'image', 'list', '--format=json'],
      ['image', dir, 'list', '--format=json'],
      ['image', 'list', '--format=json', dir],
      ['image', 'list', '--format', 'json', '--dir', w.dir],
    ]) {
      const r = await runCapsule(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect((JSON.parse(r.stdout) as { id: string }[]).map((i) => i.id), args.join(' ')).toEqual([key64(id)]);
    }
  });

  it('--debug before or after the subcommand prints diagnostics on stderr only', async () => {
    for (const args of [['--debug', '--insecure-options=image', 'fetch', file], ['--insecure-options=image', 'fetch', file, '--debug']]) {
      const r = await w.run(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(short32(id));
      expect(r.stderr).toContain(`using image from file ${file}`);
    }
    const quiet = await w.run(['--insecure-options=image', 'fetch', file]);
    expect(quiet.stderr).not.toContain('using image from file');
  });

  it('a relative --dir is taken relative to the working directory', async () => {
    const r = await runCapsule(['--dir=rel-store', '--insecure-options=image', 'fetch', file], { cwd: w.base });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(w.base, 'rel-store', 'cas', 'db'))).toBe(true);
  });

  it('unknown flags anywhere: 254 and one line naming the flag', async () => {
    for (const args of [['--frobnicate', 'image', 'list'], ['image', 'list', '--frobnicate'], ['fetch', '--frobnicate', file]]) {
      const r = await w.run(args);
      expect(r.code, args.join(' ')).toBe(254);
      expect(r.stdout).toBe('');
      expect(errorLines(r), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toContain('--frobnicate');
    }
  });

  it('unknown commands: 254 and one line', async () => {
    for (const args of [['frobnicate'], ['image', 'frobnicate']]) {
      const r = await w.run(args);
      expect(r.code, args.join(' ')).toBe(254);
      expect(errorLines(r), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toContain('frobnicate');
    }
  });

  it('a bad --insecure-options value: 254 and one line, before or after the subcommand', async () => {
    for (const args of [['--insecure-options=imagee', 'image', 'list'], ['image', 'list', '--insecure-options=image,bogus'], ['fetch', file, '--insecure-options=']]) {
      const r = await w.run(args);
      if (args.at(-1) === '--insecure-options=') {
        // An empty list means "none": the fetch is then refused for the missing signature.
        expect(r.code).toBe(254);
        expect(r.stderr).toMatch(/signature/);
        continue;
      }
      expect(r.code, args.join(' ')).toBe(254);
      expect(r.stdout).toBe('');
      expect(errorLines(r), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toContain('--insecure-options');
    }
  });

  it('every documented --insecure-options value is accepted', async () => {
    const r = await w.run(['--insecure-options=none,image,tls,http,pubkey,capabilities,paths,seccomp,ondisk,all-fetch,all-run,all', 'image', 'list']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('no command: exit 2 with "missing command", also when only global flags are given', async () => {
    for (const args of [[], [`--dir=${w.dir}`, '--debug'], ['image']]) {
      const r = await runCapsule(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('missing command');
      expect(r.stderr).toContain('Usage:');
    }
  });

  it('help is not an error', async () => {
    for (const args of [['help'], ['--help'], ['image', '--help'], ['help', 'image']]) {
      const r = await runCapsule(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout + r.stderr).toContain('Usage:');
    }
  });

  it('fetch rejects app arguments before fetching anything', async () => {
    const v = makeWorld();
    try {
      const r = await v.run(['fetch', file, '--', '--some-arg']);
      expect(r.code).toBe(254);
      expect(r.stdout).toBe('');
      expect(errorLines(r)).toEqual(['fetch: app arguments unsupported']);
      expect(fs.existsSync(path.join(v.dir, 'cas', 'blob'))).toBe(false);
    } finally {
      v.cleanup();
    }
  });
});
