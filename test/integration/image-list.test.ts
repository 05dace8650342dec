import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, expandTabs, makeWorld, tabCells, type World } from '../helpers/cli.js';
import { simpleAci } from '../helpers/images.js';
import { expectedId, fetchInsecure, key64, listJson, storeFiles, writeImage } from '../helpers/store-check.js';

/** Sums the sizes of regular files under `dir` (lstat; links not followed). */
function fileBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += fileBytes(p);
    else if (e.isFile()) n += fs.lstatSync(p).size;
  }
  return n;
}

const columns = tabCells;

describe('capsule image list', () => {
  let w: World;
  // Imported in this order, so import time ascending is zeta, alpha, mid.
  const images = [
    { name: 'example.com/zeta', version: '2.0', files: [{ path: 'rootfs/big', body: 'z'.repeat(300_000) }] },
    { name: 'example.com/alpha', version: undefined, files: [{ path: 'rootfs/small', body: 'a' }] },
    { name: 'example.com/mid', version: '1.0.0', files: [{ path: 'rootfs/medium', body: 'm'.repeat(40_000) }] },
  ];
  const ids: string[] = [];

  beforeAll(async () => {
    w = makeWorld();
    for (const img of images) {
      const labels = [{ name: 'os', value: 'linux' }, ...(img.version ? [{ name: 'version', value: img.version }] : [])];
      const aci = simpleAci(img.name, img.files, { labels });
      ids.push(expectedId(aci));
      const r = await fetchInsecure(w, [writeImage(w, `${img.name.split('/')[1]!}.aci`, aci)]);
      expect(r.code, r.stderr).toBe(0);
      await new Promise((res) => setTimeout(res, 20)); // distinct import times
    }
  });
  afterAll(() => w.cleanup());

  it('an empty store lists only the legend and an empty JSON array', async () => {
    const e = makeWorld();
    try {
      const r = await e.run(['image', 'list']);
      expect(r.code).toBe(0);
      expect(columns(r.stdout.trimEnd())).toEqual(['ID', 'NAME', 'SIZE', 'IMPORT TIME', 'LAST USED']);
      expect(await listJson(e)).toEqual([]);
    } finally {
      e.cleanup();
    }
  });

  it('shows rkt columns, sorted by import time ascending, with short IDs and name:version', async () => {
    const r = await w.run(['image', 'list']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(columns(lines[0]!)).toEqual(['ID', 'NAME', 'SIZE', 'IMPORT TIME', 'LAST USED']);
    const rows = lines.slice(1).map(columns);
    expect(rows.map((c) => c[0])).toEqual(ids.map((id) => id.slice(0, 'sha512-'.length + 12)));
    expect(rows.map((c) => c[1])).toEqual(['example.com/zeta:2.0', 'example.com/alpha', 'example.com/mid:1.0.0']);
    for (const c of rows) {
      expect(c[2]).toMatch(/^[\d.]+(B|KiB|MiB)$/);
      expect(c[3]).toMatch(/^\d+ (second|minute)s? ago$/);
      expect(c[4]).toMatch(/^\d+ (second|minute)s? ago$/);
    }
    // Columns line up: every row's NAME starts where the legend's does.
    const at = expandTabs(lines[0]!).indexOf('NAME');
    for (const l of lines.slice(1)) expect(expandTabs(l).slice(at)).toMatch(/^example\.com\//);
    // rkt's tabwriter: cells end in tabs, never in spaces.
    for (const l of lines) expect(l).not.toMatch(/ {2}/);
  });

  it('--no-legend drops the header only', async () => {
    const r = await w.run(['image', 'list', '--no-legend']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.every((l) => l.startsWith('sha512-'))).toBe(true);
  });

  it('--fields picks and orders the columns', async () => {
    const r = await w.run(['image', 'list', '--fields', 'name,id']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map(columns);
    expect(lines[0]).toEqual(['NAME', 'ID']);
    expect(lines[1]).toEqual(['example.com/zeta:2.0', ids[0]!.slice(0, 19)]);
    const bad = await w.run(['image', 'list', '--fields', 'name,colour']);
    expect(bad.code).toBe(254);
    expect(errorLines(bad)).toHaveLength(1);
    expect(bad.stderr).toContain('colour');
  });

  it('--sort and --order', async () => {
    const names = async (args: string[]): Promise<string[]> => {
      const r = await w.run(['image', 'list', '--no-legend', '--fields', 'name', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trimEnd().split('\n').map((l) => l.trim());
    };
    expect(await names(['--sort', 'name'])).toEqual(['example.com/alpha', 'example.com/mid:1.0.0', 'example.com/zeta:2.0']);
    expect(await names(['--sort', 'name', '--order', 'desc'])).toEqual(['example.com/zeta:2.0', 'example.com/mid:1.0.0', 'example.com/alpha']);
    expect(await names(['--sort', 'size'])).toEqual(['example.com/alpha', 'example.com/mid:1.0.0', 'example.com/zeta:2.0']);
    expect(await names(['--order', 'desc'])).toEqual(['example.com/mid:1.0.0', 'example.com/alpha', 'example.com/zeta:2.0']);
    const bad = await w.run(['image', 'list', '--sort', 'colour']);
    expect(bad.code).toBe(254);
    expect(errorLines(bad)).toHaveLength(1);
  });

  it('--full shows 64-hex IDs, sizes in bytes and absolute times', async () => {
    const r = await w.run(['image', 'list', '--full', '--no-legend']);
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split('\n').map(columns);
    const json = await listJson(w);
    expect(rows.map((c) => c[0])).toEqual(ids.map(key64));
    for (const [i, c] of rows.entries()) {
      expect(c[2]).toBe(String(json[i]!.size));
      expect(c[3]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,3})? \+0000 UTC$/);
      const t = new Date(`${c[3]!.replace(' +0000 UTC', 'Z').replace(' ', 'T')}`).getTime();
      expect(Math.abs(t - Date.parse(String(json[i]!.import_time)))).toBeLessThan(1000);
    }
  });

  it('--format json: id, name, RFC 3339 times and size = blob + rendered tree', async () => {
    const json = await listJson(w);
    expect(json.map((j) => j.id)).toEqual(ids.map(key64));
    expect(json.map((j) => j.name)).toEqual(images.map((i) => (i.version ? `${i.name}:${i.version}` : i.name)));
    const files = storeFiles(w.dir);
    for (const [i, j] of json.entries()) {
      expect(Object.keys(j).sort()).toEqual(['id', 'import_time', 'last_used_time', 'name', 'size']);
      expect(Date.parse(String(j.import_time))).toBeGreaterThan(Date.now() - 600e3);
      expect(Date.parse(String(j.last_used_time))).toBeGreaterThanOrEqual(Date.parse(String(j.import_time)));
      const blob = files.blobs.find((b) => b.name === ids[i]);
      expect(blob).toBeDefined();
      const tree = files.trees.find((t) => fs.readFileSync(path.join(t.dir, 'rendered'), 'utf8').includes(ids[i]!));
      expect(tree, `tree of ${j.name}`).toBeDefined();
      expect(j.size).toBe(fs.statSync(blob!.file).size + fileBytes(path.join(tree!.dir, 'rootfs')));
    }
    const pretty = await w.run(['image', 'list', '--format', 'json-pretty']);
    expect(pretty.code).toBe(0);
    expect(pretty.stdout.split('\n').length).toBeGreaterThan(10);
    expect(JSON.parse(pretty.stdout)).toEqual(json);
  });
});
