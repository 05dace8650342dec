/** `capsule config`: rkt's merged `{"stage0": [...]}` view, system < local < user, secrets redacted. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';

function authFile(dir: string, name: string, doc: unknown): void {
  fs.mkdirSync(path.join(dir, 'auth.d'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'auth.d', name), JSON.stringify(doc), { mode: 0o600 });
}

describe('capsule config', () => {
  let w: World;
  let user: string;
  const secrets = ['sys-token-1', 'local-pass-2', 'user-pass-3', 'docker-pass-4'];
  beforeAll(() => {
    w = makeWorld('capsule-pc-config-');
    user = path.join(w.base, 'user');
    authFile(w.systemConfig, 'a.json', { rktKind: 'auth', rktVersion: 'v1', domains: ['example.com', 'sys.example'], type: 'oauth', credentials: { token: secrets[0] } });
    authFile(w.localConfig, 'b.json', { rktKind: 'auth', rktVersion: 'v1', domains: ['example.com'], type: 'basic', credentials: { user: 'local', password: secrets[1] } });
    authFile(user, 'c.json', { rktKind: 'auth', rktVersion: 'v1', domains: ['user.example'], type: 'basic', credentials: { user: 'me', password: secrets[2] } });
    authFile(w.localConfig, 'd.json', { rktKind: 'dockerAuth', rktVersion: 'v1', registries: ['registry.example:5000'], credentials: { user: 'pusher', password: secrets[3] } });
    fs.writeFileSync(path.join(w.localConfig, 'auth.d', 'ignored.txt'), 'not json');
  });
  afterAll(() => w.cleanup());

  it("prints rkt's shape: auth per domain (later directories win), dockerAuth per registry, paths, stage1", async () => {
    const r = await w.run([`--user-config=${user}`, 'config']);
    expect(r.code, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout) as { stage0: Array<Record<string, unknown>> };
    expect(v.stage0.filter((e) => e.rktKind === 'auth')).toEqual([
      { rktVersion: 'v1', rktKind: 'auth', domains: ['example.com'], type: 'basic', credentials: { user: 'local', password: '<redacted>' } },
      { rktVersion: 'v1', rktKind: 'auth', domains: ['sys.example'], type: 'oauth', credentials: { token: '<redacted>' } },
      { rktVersion: 'v1', rktKind: 'auth', domains: ['user.example'], type: 'basic', credentials: { user: 'me', password: '<redacted>' } },
    ]);
    expect(v.stage0.filter((e) => e.rktKind === 'dockerAuth')).toEqual([{ rktVersion: 'v1', rktKind: 'dockerAuth', registries: ['registry.example:5000'], credentials: { user: 'pusher', password: '<redacted>' } }]);
    const paths = v.stage0.find((e) => e.rktKind === 'paths');
    expect(paths?.data).toBe(w.dir);
    const stage1 = v.stage0.find((e) => e.rktKind === 'stage1');
    expect(stage1?.location).toBe(path.join(String(paths?.['stage1-images']), 'capsule-stage1'));
    expect(fs.existsSync(String(stage1?.location))).toBe(true);
  });

  it('never prints a password or token', async () => {
    const r = await w.run([`--user-config=${user}`, 'config']);
    for (const s of secrets) expect(r.stdout + r.stderr).not.toContain(s);
  });

  it('a broken auth file: one line naming the file, exit 254, no secret', async () => {
    const broken = path.join(w.base, 'broken');
    fs.mkdirSync(path.join(broken, 'auth.d'), { recursive: true });
    fs.writeFileSync(path.join(broken, 'auth.d', 'x.json'), `{"rktKind":"auth","rktVersion":"v1","domains":["a"],"type":"basic","credentials":{"user":"u","password":"${secrets[1]}"`, { mode: 0o600 });
    const r = await w.run([`--user-config=${broken}`, 'config']);
    expect(r.code).toBe(254);
    const lines = errorLines(r);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^config: ${path.join(broken, 'auth.d', 'x.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: invalid JSON`));
    expect(r.stderr).not.toContain(secrets[1]);
  });
});
