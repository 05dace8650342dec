import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

/**
 * `npm run package` (scripts/package-deb.sh): a .deb built by dpkg-deb, looked at with
 * dpkg-deb --info/--contents and extracted into a temp root (never installed into the host's
 * /usr), where the packaged capsule runs from its own files.
 */
const hasDpkgDeb = spawnSync('dpkg-deb', ['--version']).status === 0;
if (!hasDpkgDeb) process.stderr.write('skipping package-deb tests: dpkg-deb is missing (Debian package dpkg)\n');

describe.skipIf(!hasDpkgDeb)('npm run package', () => {
  let out: string;
  let deb: string;
  let root: string;
  beforeAll(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-pc-deb-'));
    // dist/ was built by the global setup; the script must not rebuild it under running tests.
    deb = execFileSync('bash', [path.join(ROOT, 'scripts/package-deb.sh'), out], { encoding: 'utf8', env: { ...process.env, CAPSULE_PACKAGE_NO_BUILD: '1' } }).trim();
    root = path.join(out, 'root');
    execFileSync('dpkg-deb', ['-x', deb, root]);
  }, 180_000);
  afterAll(() => {
    if (out) fs.rmSync(out, { recursive: true, force: true });
  });

  it('is a capsule package for this architecture that depends on Node 20 and nspawn', () => {
    const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
    const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(path.basename(deb)).toBe(`capsule_${version}_${arch}.deb`);
    const field = (f: string): string => execFileSync('dpkg-deb', ['--field', deb, f], { encoding: 'utf8' }).trim();
    expect(field('Package')).toBe('capsule');
    expect(field('Version')).toBe(version);
    expect(field('Architecture')).toBe(arch);
    expect(field('Depends')).toContain('nodejs (>= 20)');
    expect(field('Depends')).toContain('systemd-container');
    expect(execFileSync('dpkg-deb', ['--info', deb], { encoding: 'utf8' })).toContain('Description: daemonless, rkt-compatible');
  });

  it('holds capsule in /usr/bin, the helper under /usr/lib/capsule, a man page per command, completion and the sample units, all owned by root', () => {
    const contents = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n').filter((l) => l !== '');
    for (const l of contents) expect(l, l).toMatch(/^\S+ root\/root /);
    const names = contents.map((l) => l.replace(/^.* \.\//, '/').replace(/ -> .*$/, ''));
    expect(names).toContain('/usr/bin/capsule');
    expect(fs.readlinkSync(path.join(root, 'usr/bin/capsule'))).toBe('../lib/capsule/bin/capsule');
    expect(names).toContain('/usr/lib/capsule/dist/libexec/capsule-stage1');
    expect(fs.statSync(path.join(root, 'usr/lib/capsule/dist/libexec/capsule-stage1')).mode & 0o777).toBe(0o755);
    for (const c of ['capsule.1.gz', 'capsule-run.1.gz', 'capsule-logs.1.gz', 'capsule-image-list.1.gz', 'capsule-enter.1.gz']) expect(names).toContain(`/usr/share/man/man1/${c}`);
    expect(names).toContain('/usr/share/bash-completion/completions/capsule');
    expect(names).toContain('/usr/share/zsh/vendor-completions/_capsule');
    for (const u of ['capsule-gc.service', 'capsule-gc.timer', 'capsule-metadata-service.socket', 'capsule-metadata-service.service']) expect(names).toContain(`/usr/lib/systemd/system/${u}`);
    expect(names).toContain('/usr/share/doc/capsule/examples/web.service');
    // The units are the docs' samples, with the installed paths.
    const docs = fs.readFileSync(path.join(ROOT, 'docs/systemd.md'), 'utf8');
    const gc = fs.readFileSync(path.join(root, 'usr/lib/systemd/system/capsule-gc.service'), 'utf8');
    expect(gc).toContain('ExecStart=/usr/bin/capsule gc');
    expect(docs).toContain(gc.trim());
    expect(fs.readFileSync(path.join(root, 'usr/share/doc/capsule/examples/web.service'), 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/capsule run /m);
    // Nothing from the build's dev tools.
    expect(names.some((n) => n.includes('/node_modules/vitest/') || n.includes('/node_modules/typescript/'))).toBe(false);
  });

  it('the extracted capsule runs from its own files: version, config paths, the store, man and completion', () => {
    const capsule = path.join(root, 'usr/bin/capsule');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CAPSULE_')));
    const run = (args: string[]): string => execFileSync(capsule, args, { encoding: 'utf8', env });
    expect(run(['--version'])).toMatch(/^capsule version \d/);
    const cfg = JSON.parse(run(['config'])) as { stage0: Array<Record<string, string>> };
    const stage1 = cfg.stage0.find((e) => e.rktKind === 'stage1');
    expect(stage1?.location).toBe(path.join(root, 'usr/lib/capsule/dist/libexec/capsule-stage1'));
    const data = path.join(out, 'data');
    expect(run([`--dir=${data}`, 'image', 'list', '--no-legend'])).toBe('');
    const page = execFileSync('gzip', ['-dc', path.join(root, 'usr/share/man/man1/capsule-logs.1.gz')], { encoding: 'utf8' });
    expect(page).toMatch(/^\.TH CAPSULE-LOGS 1 /);
    expect(fs.readFileSync(path.join(root, 'usr/share/bash-completion/completions/capsule'), 'utf8')).toBe(run(['completion', 'bash']));
  });
});
