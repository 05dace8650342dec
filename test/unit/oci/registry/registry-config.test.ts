import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRegistryConfig } from '../../../../src/oci/registry/registry-config.js';

const dirs: string[] = [];
function conf(files: Record<string, unknown>): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-or-conf-'));
  dirs.push(d);
  fs.mkdirSync(path.join(d, 'docker.d'));
  for (const [n, doc] of Object.entries(files)) fs.writeFileSync(path.join(d, 'docker.d', n), typeof doc === 'string' ? doc : JSON.stringify(doc));
  return d;
}
const kind = { rktKind: 'dockerRegistries', rktVersion: 'v1' };
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('loadRegistryConfig', () => {
  it('defaults to Docker Hub without mirrors when nothing is configured', () => {
    expect(loadRegistryConfig(['/nonexistent'])).toEqual({ defaultRegistry: 'docker.io', mirrors: new Map() });
  });
  it('takes the later directory for each key', () => {
    const sys = conf({ 'a.json': { ...kind, defaultRegistry: 'sys.example', mirrors: { 'docker.io': ['m1.example:5000'] } } });
    const local = conf({ 'b.json': { ...kind, defaultRegistry: 'Local.Example:5000' } });
    const c = loadRegistryConfig([sys, local]);
    expect(c.defaultRegistry).toBe('local.example:5000');
    expect(c.mirrors.get('docker.io')).toEqual(['m1.example:5000']);
  });
  it.each([
    [{ 'a.json': { ...kind, defaultRegistry: 'https://x.example' } }, /defaultRegistry: must be a registry host name/],
    [{ 'a.json': { ...kind, mirrors: { 'docker.io': ['x.example/path'] } } }, /mirrors.docker.io\[0\]/],
    [{ 'a.json': { ...kind, mirrors: ['x'] } }, /mirrors: must be an object/],
    [{ 'a.json': { ...kind, mirror: {} } }, /unknown key "mirror"/],
    [{ 'a.json': { rktKind: 'dockerAuth', rktVersion: 'v1' } }, /rktKind: expected "dockerRegistries"/],
    [{ 'a.json': { ...kind, defaultRegistry: 'a.example' }, 'b.json': { ...kind, defaultRegistry: 'b.example' } }, /also set in/],
    [{ 'a.json': '{' }, /reading .*a\.json/],
  ])('refuses %j', (files, why) => {
    expect(() => loadRegistryConfig([conf(files)])).toThrow(why);
  });
});
