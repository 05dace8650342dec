// A careless host (issue 12 §4): a trusted key in a directory anyone can write (mode 0777), an
// auth.d file others can read (its credentials would be sent for them), a docker.d file anyone
// can change (mirrors decide where images come from), a data dir others can write. Each is
// refused with one line naming the path and its mode, as ssh refuses a loose authorized_keys.
// The victim: a key and an image that were fine before, which work again once the mode is fixed.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { simpleAci } from '../helpers/images.js';

let gpg: GpgHome;
let w: World;
let aci: string;
let keyDir: string;
beforeAll(async () => {
  gpg = makeGpgHome();
  w = makeWorld('capsule-sec-hd-');
  const fp = gpg.genKey('Signer <signer@example.com>');
  aci = path.join(w.base, 'app.aci');
  fs.writeFileSync(aci, simpleAci('example.com/app'));
  gpg.sign(aci, fp);
  const r = await w.run(['trust', '--prefix=example.com/app', '--skip-fingerprint-review', gpg.exportPublic(fp, path.join(w.base, 'k.asc'))]);
  expect(r.code, r.stderr).toBe(0);
  keyDir = path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', 'app');
}, 60_000);
afterAll(() => {
  gpg?.cleanup();
  w?.cleanup();
});

const fetchLines = async (): Promise<{ code: number | null; lines: string[] }> => {
  const r = await w.run(['fetch', aci]);
  return { code: r.code, lines: errorLines(r) };
};

describe('trusted files others can change', () => {
  it('a key directory with mode 0777 is refused, naming it; fixed, the fetch works', async () => {
    fs.chmodSync(keyDir, 0o777);
    const bad = await fetchLines();
    expect(bad.code).toBe(254);
    fs.chmodSync(keyDir, 0o755);
    expect(bad.lines).toEqual([expect.stringMatching(/^fetch: .*/)]);
    expect(bad.lines[0]).toContain(`: refusing trusted keys directory ${keyDir}: mode 0777: writable by group and others`);
    const ok = await fetchLines();
    expect(ok.code, ok.lines.join('\n')).toBe(0);
  });

  it('a key file writable by group, and a parent on the way (trustedkeys) writable by others, are refused', async () => {
    const key = path.join(keyDir, fs.readdirSync(keyDir)[0]!);
    fs.chmodSync(key, 0o664);
    const a = await fetchLines();
    fs.chmodSync(key, 0o644);
    expect(a.lines).toHaveLength(1);
    expect(a.lines[0]).toMatch(new RegExp(`^fetch: .*: refusing trusted key ${key}: mode 0664: writable by group$`));
    const tk = path.join(w.localConfig, 'trustedkeys');
    fs.chmodSync(tk, 0o757);
    const b = await fetchLines();
    fs.chmodSync(tk, 0o755);
    expect(b.lines).toHaveLength(1);
    expect(b.lines[0]).toMatch(new RegExp(`^fetch: .*: refusing trusted keys directory ${tk}: mode 0757: writable by others$`));
  });

  it('an auth.d file readable by others is refused before any credential is used', async () => {
    const d = path.join(w.localConfig, 'auth.d');
    fs.mkdirSync(d, { recursive: true, mode: 0o755 });
    const f = path.join(d, 'a.json');
    fs.writeFileSync(f, JSON.stringify({ rktKind: 'auth', rktVersion: 'v1', domains: ['example.com'], type: 'basic', credentials: { user: 'u', password: 'p' } }), { mode: 0o644 });
    fs.chmodSync(f, 0o644);
    // `config` reads every auth.d, as a remote fetch does before its first request.
    const cr = await w.run(['config']);
    const c = { code: cr.code, lines: errorLines(cr) };
    fs.chmodSync(f, 0o600);
    expect(c.code).toBe(254);
    expect(c.lines).toHaveLength(1);
    expect(c.lines[0]).toMatch(/^config: /);
    expect(c.lines[0]).toContain(`refusing credentials file ${f}: mode 0644: readable by others (it holds credentials; chmod o-rwx)`);
    expect((await w.run(['config'])).code).toBe(0);
  });

  it('a docker.d file writable by others is refused', async () => {
    const d = path.join(w.localConfig, 'docker.d');
    fs.mkdirSync(d, { recursive: true, mode: 0o755 });
    const f = path.join(d, 'r.json');
    fs.writeFileSync(f, JSON.stringify({ rktKind: 'dockerRegistries', rktVersion: 'v1', defaultRegistry: 'registry.example.com' }));
    fs.chmodSync(f, 0o666);
    const r = await w.run(['fetch', '--pull-policy=never', 'docker://x/y']);
    fs.rmSync(d, { recursive: true });
    expect(errorLines(r)).toHaveLength(1);
    expect(errorLines(r)[0]).toMatch(/^fetch: /);
    expect(errorLines(r)[0]).toContain(`refusing registry configuration file ${f}: mode 0666: writable by group and others`);
  });

  it('a data dir writable by others is refused', async () => {
    fs.chmodSync(w.dir, 0o777);
    try {
      const r = await w.run(['fetch', aci]);
      expect(r.code).toBe(254);
      expect(errorLines(r)).toHaveLength(1);
      expect(errorLines(r)[0]).toMatch(/^fetch: /);
      expect(errorLines(r)[0]).toContain(`refusing data dir ${w.dir}: mode 0777: writable by others`);
    } finally {
      fs.chmodSync(w.dir, 0o700);
    }
    expect((await w.run(['image', 'list'])).stdout).toContain('example.com/app');
  });
});
