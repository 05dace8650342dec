/**
 * `--format json` is one shape everywhere, checked against test/schemas/capsule-json.schema.json:
 * snake_case keys, RFC 3339 times with their real precision, one length of image IDs, names with
 * their version, and the same pod object from `list` and `status` (with pid and networks).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorld, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { simpleAci } from '../helpers/images.js';
import { validate } from '../helpers/json-schema.js';
import { fakePod, imageIdOf } from './pods-fixtures.js';

const schema = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../schemas/capsule-json.schema.json'), 'utf8')) as Record<string, unknown>;
const json = (stdout: string): unknown => JSON.parse(stdout);

let w: World;
let gpg: GpgHome;
beforeAll(() => {
  w = makeWorld('capsule-pc-json-');
  gpg = makeGpgHome();
});
afterAll(() => {
  w.cleanup();
  gpg.cleanup();
});

describe('the schema checker', () => {
  it("refuses rkt's old shape (nanosecond integers, camelCase networks, a pod without pid)", () => {
    const old = { name: '4ee8a0f6-0000-4000-8000-000000000001', state: 'exited', networks: [{ netName: 'default', ip: '10.0.0.2' }], app_names: [], apps: [], created_at: 1704164645000000000 };
    const problems = validate(schema, '#/$defs/pod', old);
    expect(problems).toEqual(expect.arrayContaining([expect.stringContaining('missing pid'), expect.stringContaining('$.created_at: integer'), expect.stringContaining('key netName')]));
  });
});

describe('--format json', () => {
  it('list and status: the same pod object, with pid, networks, full image IDs and versioned names', async () => {
    const created = new Date('2024-01-02T03:04:05.123Z');
    const { uuid, dir } = fakePod(w.dir, 'run', {
      created,
      pid: 4242,
      apps: [{ name: 'a', started: true, exit: 2, version: '1.2.0' }, { name: 'b' }],
      nets: [{ netName: 'default', ip: '10.0.0.2' }],
    });
    // Sub-millisecond precision as the file system records it.
    fs.utimesSync(path.join(dir, 'pod-created'), created, created.getTime() / 1000 + 0.000456);
    const list = await w.run(['list', '--format', 'json']);
    expect(list.code, list.stderr).toBe(0);
    const pods = json(list.stdout) as Array<Record<string, unknown>>;
    expect(validate(schema, '#/$defs/pod', pods[0])).toEqual([]);
    const status = await w.run(['status', '--format', 'json', uuid]);
    expect(status.code, status.stderr).toBe(0);
    const one = json(status.stdout) as Record<string, unknown>;
    expect(validate(schema, '#/$defs/pod', one)).toEqual([]);
    expect(one).toEqual(pods.find((p) => p.name === uuid));
    expect(one).toMatchObject({ name: uuid, state: 'exited', pid: 4242, networks: [{ net_name: 'default', ip: '10.0.0.2' }], app_names: ['a', 'b'] });
    expect(one.created_at).toMatch(/^2024-01-02T03:04:05\.12345[5-7]Z$/);
    const apps = one.apps as Array<Record<string, unknown>>;
    expect(apps[0]).toMatchObject({ name: 'a', state: 'exited', exit_code: 2, image_id: imageIdOf(1).slice(0, 'sha512-'.length + 64), image_name: 'example.com/a:1.2.0' });
    expect(apps[1]).toMatchObject({ name: 'b', exit_code: null });
  });

  it('a prepared pod: the same keys, unknowns null', async () => {
    const { uuid } = fakePod(w.dir, 'prepared', { apps: [{ name: 'p' }] });
    const r = await w.run(['status', '--format', 'json', uuid]);
    const one = json(r.stdout) as Record<string, unknown>;
    expect(validate(schema, '#/$defs/pod', one)).toEqual([]);
    expect(one).toMatchObject({ state: 'prepared', pid: null, started_at: null, networks: [] });
  });

  it('image list: store-key IDs, names with version, RFC 3339 times', async () => {
    const file = path.join(w.base, 'v.aci');
    fs.writeFileSync(file, simpleAci('example.com/pc-json', [], { labels: [{ name: 'version', value: '3.1' }, { name: 'os', value: 'linux' }, { name: 'arch', value: process.arch === 'x64' ? 'amd64' : process.arch }] }));
    const f = await w.run(['--insecure-options=image', 'fetch', file]);
    expect(f.code, f.stderr).toBe(0);
    const r = await w.run(['image', 'list', '--format', 'json']);
    const images = json(r.stdout) as Array<Record<string, unknown>>;
    expect(images).toHaveLength(1);
    for (const i of images) expect(validate(schema, '#/$defs/image', i)).toEqual([]);
    expect(images[0]).toMatchObject({ name: 'example.com/pc-json:3.1' });
    expect(String(images[0]!.id)).toBe(`${f.stdout.trim()}${String(images[0]!.id).slice(f.stdout.trim().length)}`);
    const full = await w.run(['image', 'list', '--full', '--no-legend', '--fields=id']);
    expect(full.stdout.trim()).toBe(images[0]!.id);
  });

  it('trust list and version', async () => {
    const fpr = gpg.genKey('JSON Shape <json@example.com>');
    const key = gpg.exportPublic(fpr, path.join(w.base, 'k.pub'));
    const t = await w.run(['trust', '--prefix', 'example.com/pc-json', '--skip-fingerprint-review', key]);
    expect(t.code, t.stderr).toBe(0);
    const keys = json((await w.run(['trust', 'list', '--format', 'json'])).stdout) as unknown[];
    expect(keys).toHaveLength(1);
    expect(validate(schema, '#/$defs/trustedKey', keys[0])).toEqual([]);
    const v = await w.run(['version', '--format', 'json']);
    expect(v.code, v.stderr).toBe(0);
    expect(validate(schema, '#/$defs/version', json(v.stdout))).toEqual([]);
  });
});
