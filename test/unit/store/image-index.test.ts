import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseImageId, type ImageId } from '../../../src/spec/image-id.js';
import { parseImageIdPrefix } from '../../../src/spec/image-id.js';
import { validateImageManifest } from '../../../src/spec/image-manifest.js';
import { hostOsArch } from '../../../src/spec/os-arch.js';
import { findByIdPrefix, findByName, getImage, labelsOf, listImages, touchImage, upsertImage } from '../../../src/store/image-index.js';
import { openIndex, type Db } from '../../../src/store/index-db.js';
import { blobPath, storeLayout, treePath } from '../../../src/store/layout.js';

const id = (hex: string): ImageId => parseImageId(`sha512-${hex.padEnd(128, '0')}`);

describe('image index (SQLite)', () => {
  let dir: string;
  let db: Db;
  const add = (hex: string, name: string, labels: Record<string, string>, now: number, latest = false): ImageId => {
    const manifest = validateImageManifest({ acKind: 'ImageManifest', acVersion: '0.8.11', name, labels: Object.entries(labels).map(([n, value]) => ({ name: n, value })) });
    const i = id(hex);
    upsertImage(db, { id: i, name, labels: labelsOf(manifest), manifest, manifestText: JSON.stringify(manifest), size: 100, latest }, now);
    return i;
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-index-'));
    const l = storeLayout(dir);
    db = openIndex(l.dbDir, l.dbFile);
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('upsert is idempotent: one row, import time kept, last use refreshed', () => {
    const a = add('ab', 'example.com/a', {}, 1000);
    add('ab', 'example.com/a', {}, 5000);
    const rows = listImages(db);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: a, importTime: 1000, lastUsed: 5000 });
    touchImage(db, a, 9000);
    expect(getImage(db, a)?.lastUsed).toBe(9000);
  });

  it('lists by import time', () => {
    add('cc', 'example.com/c', {}, 3);
    add('aa', 'example.com/a', {}, 1);
    add('bb', 'example.com/b', {}, 2);
    expect(listImages(db).map((r) => r.name)).toEqual(['example.com/a', 'example.com/b', 'example.com/c']);
  });

  it('ID prefixes: unique ≥ 2 hex resolves, shared is ambiguous, none is not found', () => {
    const a = add('abc1', 'example.com/a', {}, 1);
    add('abd2', 'example.com/b', {}, 2);
    expect(findByIdPrefix(db, parseImageIdPrefix('sha512-abc')).id).toBe(a);
    expect(() => findByIdPrefix(db, parseImageIdPrefix('sha512-ab'))).toThrow(/ambiguous image ID/);
    expect(() => findByIdPrefix(db, parseImageIdPrefix('sha512-ff'))).toThrow(/no image IDs found/);
    expect(findByIdPrefix(db, parseImageIdPrefix(a)).id).toBe(a);
  });

  it('names: every requested label must match; the newest import wins', () => {
    add('01', 'example.com/app', { version: '1.0' }, 1);
    const v2 = add('02', 'example.com/app', { version: '2.0' }, 2);
    const v1b = add('03', 'example.com/app', { version: '1.0' }, 3);
    expect(findByName(db, 'example.com/app', {})?.id).toBe(v1b);
    expect(findByName(db, 'example.com/app', { version: '2.0' })?.id).toBe(v2);
    expect(findByName(db, 'example.com/app', { version: '3.0' })).toBeUndefined();
    expect(findByName(db, 'example.com/app', { channel: 'beta' })).toBeUndefined();
    expect(findByName(db, 'example.com/other', {})).toBeUndefined();
  });

  it('names without a version prefer images fetched as "latest"', () => {
    const latest = add('10', 'example.com/app', { version: '1.0' }, 1, true);
    add('11', 'example.com/app', { version: '2.0' }, 2);
    expect(findByName(db, 'example.com/app', {})?.id).toBe(latest);
    expect(findByName(db, 'example.com/app', { version: '2.0' })?.id).toBe(id('11'));
  });

  it('names: os/arch, when not asked for, must be the host’s or absent', () => {
    const host = hostOsArch();
    const other = host.arch === 'amd64' ? 'aarch64' : 'amd64';
    add('20', 'example.com/app', { os: 'linux', arch: other }, 5);
    expect(findByName(db, 'example.com/app', {})).toBeUndefined();
    expect(findByName(db, 'example.com/app', { arch: other })?.id).toBe(id('20'));
    const mine = add('21', 'example.com/app', { os: 'linux', arch: host.arch }, 1);
    const noarch = add('22', 'example.com/noarch', {}, 1);
    expect(findByName(db, 'example.com/app', {})?.id).toBe(mine);
    expect(findByName(db, 'example.com/noarch', {})?.id).toBe(noarch);
  });

  it('a second process opening the same index sees the rows (WAL)', () => {
    add('30', 'example.com/shared', {}, 1);
    const l = storeLayout(dir);
    const other = openIndex(l.dbDir, l.dbFile);
    try {
      expect(listImages(other).map((r) => r.name)).toEqual(['example.com/shared']);
      expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      other.close();
    }
  });
});

describe('store layout', () => {
  it('puts everything under --dir as DESIGN.md says', () => {
    const l = storeLayout('/data');
    expect(l).toMatchObject({ blobDir: '/data/cas/blob/sha512', dbDir: '/data/cas/db', tmpDir: '/data/cas/tmp', treeDir: '/data/tree', locksDir: '/data/locks' });
    const i = id('ab12');
    expect(blobPath(l, i)).toBe(`/data/cas/blob/sha512/ab/${i}`);
    expect(treePath(l, 'deps-sha512-00')).toBe('/data/tree/deps-sha512-00');
  });
});
