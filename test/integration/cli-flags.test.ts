import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { commandPath } from '../../src/cli/context.js';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { simpleAci } from '../helpers/images.js';
import { writeImage } from '../helpers/store-check.js';

const silent = { out: () => undefined, err: () => undefined, stdinIsTTY: false, stderrIsTTY: false, readLine: () => Promise.resolve(null) };

/** Every command of the real program with its boolean options (global ones on the program). */
function booleanFlags(): Array<{ path: string[]; flag: string }> {
  const out: Array<{ path: string[]; flag: string }> = [];
  const walk = (c: Command): void => {
    const p = commandPath(c);
    for (const o of c.options) if (!o.required && !o.optional && o.long && o.long !== '--version') out.push({ path: p === '' ? [] : p.split(' '), flag: o.long });
    c.commands.forEach(walk);
  };
  walk(buildProgram(silent, () => undefined));
  return out;
}

describe('every boolean flag takes --flag=BOOL (Go ParseBool spellings)', () => {
  const all = booleanFlags();
  it('the program has boolean flags on several commands', () => expect(new Set(all.map((f) => f.path.join(' '))).size).toBeGreaterThan(5));
  let w: World;
  beforeAll(() => (w = makeWorld('capsule-pc-flags-')));
  afterAll(() => w.cleanup());
  for (const { path, flag } of all) {
    const where = path.join(' ') || 'capsule';
    it(`${where} ${flag}=true and =FALSE parse; ${flag}=maybe is refused in one line`, async () => {
      for (const v of ['true', 'FALSE', '0', 'T']) {
        const r = await w.run([...path, `${flag}=${v}`, '--help']);
        expect(r.code, `${where} ${flag}=${v}: ${r.stderr}`).toBe(0);
        expect(r.stdout).toContain('Usage:');
      }
      const bad = await w.run([...path, `${flag}=maybe`, '--help']);
      expect(bad.code).toBe(254);
      expect(errorLines(bad)).toEqual([`${where}: invalid boolean value "maybe" for ${flag} (want true or false)`]);
    });
  }
});

describe('--flag=BOOL means what the flag means', () => {
  let w: World;
  let file: string;
  beforeAll(() => {
    w = makeWorld('capsule-pc-flags-');
    file = writeImage(w, 'b.aci', simpleAci('example.com/pc-bool', [{ path: 'rootfs/x', body: 'x' }]));
  });
  afterAll(() => w.cleanup());

  it('fetch --full=true prints the full ID, --full=false the short one; --debug=false is quiet', async () => {
    const long = await w.run(['--insecure-options=image', 'fetch', '--full=true', file, '--debug=true']);
    expect(long.code, long.stderr).toBe(0);
    expect(long.stdout.trim()).toMatch(/^sha512-[0-9a-f]{64}$/);
    expect(long.stderr).toContain('using image from file');
    const short = await w.run(['--insecure-options=image', 'fetch', '--full=false', file, '--debug=false']);
    expect(short.stdout.trim()).toMatch(/^sha512-[0-9a-f]{32}$/);
    expect(short.stderr).not.toContain('using image from file');
    const last = await w.run(['--insecure-options=image', '--debug', 'fetch', file, '--debug=0']);
    expect(last.stderr).not.toContain('using image from file');
  });

  it('image list --no-legend=true hides the header, --no-legend=false shows it', async () => {
    const hidden = await w.run(['image', 'list', '--no-legend=true']);
    expect(hidden.code, hidden.stderr).toBe(0);
    expect(hidden.stdout).not.toMatch(/^ID/);
    expect(hidden.stdout).toContain('example.com/pc-bool');
    const shown = await w.run(['image', 'list', '--no-legend=false']);
    expect(shown.stdout).toMatch(/^ID\t/);
  });

  it('gc --mark-only=false and --mark-only=true run (root)', async () => {
    for (const v of ['false', 'true']) {
      const r = await w.run(['gc', `--mark-only=${v}`]);
      expect(r.code, r.stderr).toBe(0);
    }
  });
});
