import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestTree } from '../../../src/aci/tree-digest.js';
import type { EntryType, TarEntry } from '../../../src/aci/tar-reader.js';
import { TreeWriter, type WriterMode } from '../../../src/aci/tree-writer.js';
import { CapsuleError } from '../../../src/errors/capsule-error.js';

const UID = process.getuid?.() ?? 0;
const GID = process.getgid?.() ?? 0;
const T1 = new Date('2020-01-02T03:04:05Z');
const T2 = new Date('2021-06-07T08:09:10Z');

interface EntryOpts { body?: string; mode?: number; mtime?: Date; linkpath?: string; chunk?: number }

/** A tar entry as readTar yields it; the body arrives in `chunk`-sized pieces. */
function ent(p: string, type: EntryType, o: EntryOpts = {}): TarEntry {
  const body = Buffer.from(o.body ?? '');
  const chunk = o.chunk ?? 3;
  return {
    path: `rootfs/${p}`,
    type,
    rawType: type,
    size: body.length,
    mode: o.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
    uid: UID,
    gid: GID,
    mtime: o.mtime ?? T1,
    linkpath: o.linkpath ?? '',
    devmajor: 0,
    devminor: 0,
    data: (async function* () {
      for (let i = 0; i < body.length; i += chunk) yield await Promise.resolve(body.subarray(i, i + chunk));
    })(),
  };
}

let base: string;
let n = 0;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-tw-'));
});
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

/** A writer on a fresh empty directory, on its first layer. */
function writer(mode: WriterMode = 'write'): TreeWriter {
  const root = path.join(base, `root${n++}`);
  fs.mkdirSync(root, { mode: 0o700 });
  const w = new TreeWriter(root, undefined, mode);
  w.nextLayer();
  return w;
}

const add = (w: TreeWriter, rel: string, type: EntryType, o?: EntryOpts): Promise<void> => w.add(ent(rel, type, o), rel);
const at = (w: TreeWriter, rel: string): string => path.join(w.root, rel);
const seconds = (p: string): number => Math.floor(fs.lstatSync(p).mtimeMs / 1000);

async function refusal(p: Promise<unknown>): Promise<string> {
  const e: unknown = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(CapsuleError);
  return (e as CapsuleError).message;
}

describe('implicit parent directories', () => {
  it('creates missing parents as 0755 directories, and a later explicit entry sets their attributes', async () => {
    const w = writer();
    await add(w, 'a/b/c', 'file', { body: 'deep' });
    expect(w.nodes.get('a')).toMatchObject({ type: 'dir', explicit: false, mode: 0o755 });
    expect(w.nodes.get('a/b')).toMatchObject({ type: 'dir', explicit: false });
    await add(w, 'a', 'directory', { mode: 0o750, mtime: T2 });
    expect(w.nodes.get('a')).toMatchObject({ type: 'dir', explicit: true, mode: 0o750 });
    w.finish();
    expect(fs.readFileSync(at(w, 'a/b/c'), 'utf8')).toBe('deep');
    expect(fs.statSync(at(w, 'a')).mode & 0o7777).toBe(0o750);
    expect(fs.statSync(at(w, 'a/b')).mode & 0o7777).toBe(0o755);
    expect(seconds(at(w, 'a'))).toBe(T2.getTime() / 1000);
  });

  it('a second explicit entry for the same directory is a duplicate', async () => {
    const w = writer();
    await add(w, 'a', 'directory');
    expect(await refusal(add(w, 'a', 'directory'))).toBe('duplicate file entry in archive: "rootfs/a"');
  });

  it('an implicit directory cannot be replaced by a symlink in the same layer', async () => {
    const w = writer();
    await add(w, 'd/x', 'file', { body: 'x' });
    expect(await refusal(add(w, 'd', 'symlink', { linkpath: '/' }))).toBe('duplicate file entry in archive: "rootfs/d"');
    expect(fs.lstatSync(at(w, 'd')).isDirectory()).toBe(true);
  });
});

describe('modes and times', () => {
  it('sets file, directory, symlink and root attributes; directories last, so their mtimes stick', async () => {
    const w = writer();
    w.setRootAttributes(ent('', 'directory', { mode: 0o751, mtime: T2 }));
    await add(w, 'ro', 'directory', { mode: 0o555, mtime: T2 });
    await add(w, 'ro/f', 'file', { body: 'data', mode: 0o640, mtime: T1 }); // written after its read-only parent
    await add(w, 'ro/l', 'symlink', { linkpath: 'f', mtime: T1 });
    w.finish();
    expect(fs.statSync(w.root).mode & 0o7777).toBe(0o751);
    expect(seconds(w.root)).toBe(T2.getTime() / 1000);
    expect(fs.statSync(at(w, 'ro')).mode & 0o7777).toBe(0o555);
    expect(seconds(at(w, 'ro'))).toBe(T2.getTime() / 1000);
    expect(fs.statSync(at(w, 'ro/f')).mode & 0o7777).toBe(0o640);
    expect(seconds(at(w, 'ro/f'))).toBe(T1.getTime() / 1000);
    expect(fs.readlinkSync(at(w, 'ro/l'))).toBe('f');
    expect(seconds(at(w, 'ro/l'))).toBe(T1.getTime() / 1000);
    expect(w.nodes.get('ro/f')).toMatchObject({ type: 'file', mode: 0o640, size: 4, mtime: T1.getTime() / 1000 });
    fs.chmodSync(at(w, 'ro'), 0o755); // let the temp dir be removed
  });

  it.each([
    ['before 1970', new Date(-86_400_000), 0],
    ['beyond what ext4 stores (year 33658)', new Date(1e15), 0o77777777777],
  ])('mtime %s is recorded as it lands on disk', async (_, mtime, want) => {
    const w = writer();
    await add(w, 'f', 'file', { body: 'x', mtime });
    await add(w, 'd', 'directory', { mtime });
    w.finish();
    expect(w.nodes.get('f')!.mtime).toBe(want);
    expect(seconds(at(w, 'f'))).toBe(want);
    expect(seconds(at(w, 'd'))).toBe(want);
    const r = writer('replay');
    await add(r, 'f', 'file', { body: 'x', mtime });
    await add(r, 'd', 'directory', { mtime });
    r.finish();
    expect(digestTree(w.root)).toBe(r.digest());
  });
});

describe('layers: first writer wins', () => {
  it('keeps what a higher layer wrote and adds what only a lower layer has', async () => {
    const w = writer();
    await add(w, 'etc/x', 'file', { body: 'top' });
    await add(w, 'lib', 'symlink', { linkpath: 'usr/lib' });
    await add(w, 'bin', 'directory', { mode: 0o700 });
    w.nextLayer();
    await add(w, 'etc/x', 'file', { body: 'bottom' });
    await add(w, 'etc/y', 'file', { body: 'only below' });
    await add(w, 'lib/libc.so', 'file', { body: 'through the top layer symlink' });
    await add(w, 'lib', 'directory');
    await add(w, 'bin', 'directory', { mode: 0o755 });
    await add(w, 'bin/sh', 'file', { body: 'sh' });
    w.finish();
    expect(fs.readFileSync(at(w, 'etc/x'), 'utf8')).toBe('top');
    expect(fs.readFileSync(at(w, 'etc/y'), 'utf8')).toBe('only below');
    expect(fs.lstatSync(at(w, 'lib')).isSymbolicLink()).toBe(true);
    expect(fs.existsSync(path.join(w.root, 'usr'))).toBe(false);
    expect(fs.statSync(at(w, 'bin')).mode & 0o7777).toBe(0o700);
    expect(fs.readFileSync(at(w, 'bin/sh'), 'utf8')).toBe('sh');
    expect([w.nodes.get('etc/x')!.layer, w.nodes.get('etc/y')!.layer, w.nodes.get('bin/sh')!.layer]).toEqual([1, 2, 2]);
  });

  it('a layer filter keeps out what it rejects', async () => {
    const w = writer();
    w.nextLayer((rel) => rel !== 'etc/secret');
    await add(w, 'etc/secret', 'file', { body: 's' });
    await add(w, 'etc/ok', 'file', { body: 'o' });
    expect(fs.existsSync(at(w, 'etc/secret'))).toBe(false);
    expect(fs.readFileSync(at(w, 'etc/ok'), 'utf8')).toBe('o');
  });

  it('within one layer, a duplicate or a write through its own symlink is refused', async () => {
    const w = writer();
    await add(w, 'f', 'file', { body: '1' });
    expect(await refusal(add(w, 'f', 'file', { body: '2' }))).toBe('duplicate file entry in archive: "rootfs/f"');
    await add(w, 'l', 'symlink', { linkpath: base });
    expect(await refusal(add(w, 'l/x', 'file', { body: 'x' }))).toBe('entry "rootfs/l/x" would be written through the symlink "rootfs/l"');
    expect(fs.readFileSync(at(w, 'f'), 'utf8')).toBe('1');
    expect(fs.readdirSync(base).filter((e) => !e.startsWith('root'))).toEqual([]);
  });
});

describe('hardlinks and removal', () => {
  it('links to a regular file written earlier share its inode', async () => {
    const w = writer();
    await add(w, 'bin/sh', 'file', { body: 'shell' });
    await add(w, 'bin/ash', 'hardlink', { linkpath: 'rootfs/bin/sh' });
    expect(fs.statSync(at(w, 'bin/ash')).ino).toBe(fs.statSync(at(w, 'bin/sh')).ino);
    expect(fs.statSync(at(w, 'bin/sh')).nlink).toBe(2);
  });

  it.each([
    ['a target not written yet', 'rootfs/missing'],
    ['a directory', 'rootfs/dir'],
    ['a symlink', 'rootfs/sym'],
    ['a path through a symlink', 'rootfs/sym/passwd'],
  ])('refuses a link to %s', async (_, linkpath) => {
    const w = writer();
    await add(w, 'dir', 'directory');
    await add(w, 'sym', 'symlink', { linkpath: '/etc' });
    expect(await refusal(add(w, 'h', 'hardlink', { linkpath }))).toMatch(/^hardlink "rootfs\/h" points to ".*", which is not a regular file written earlier in this image$/);
    expect(fs.existsSync(at(w, 'h'))).toBe(false);
  });

  it('removeFile deletes a file it wrote and leaves directories alone', async () => {
    const w = writer();
    await add(w, 'd/f', 'file', { body: 'x' });
    w.removeFile('d/f');
    w.removeFile('d');
    expect(fs.readdirSync(at(w, 'd'))).toEqual([]);
    expect(w.nodes.has('d/f')).toBe(false);
  });

  it('stops at the entry limit', async () => {
    const w = new TreeWriter(base, { maxPathBytes: 4096, maxComponentBytes: 255, maxDepth: 128, maxEntries: 2 });
    w.nextLayer();
    await add(w, 'a', 'file');
    await add(w, 'b', 'file');
    expect(await refusal(add(w, 'c', 'file'))).toBe('image has more than 2 entries');
  });
});

describe('digest', () => {
  const tree = (hostname = 'box\n', mode = 0o644): [string, EntryType, EntryOpts][] => [
    ['etc', 'directory', { mode: 0o755, mtime: T2 }],
    ['etc/hostname', 'file', { body: hostname, mode }],
    ['bin/sh', 'file', { body: 'sh', mode: 0o755 }],
    ['bin/ash', 'hardlink', { linkpath: 'rootfs/bin/sh' }],
    ['lib', 'symlink', { linkpath: 'usr/lib' }],
  ];

  async function build(entries: [string, EntryType, EntryOpts][], chunk = 3, mode: WriterMode = 'write'): Promise<TreeWriter> {
    const w = writer(mode);
    w.setRootAttributes(ent('', 'directory', { mtime: T2 }));
    for (const [rel, type, o] of entries) await add(w, rel, type, { ...o, chunk });
    w.finish();
    return w;
  }

  it('is the same for the same tree, whatever the entry order or chunking, and matches the disk', async () => {
    const t = tree();
    const reordered: typeof t = [t[4]!, t[1]!, t[2]!, t[0]!, t[3]!]; // lib, etc/hostname (etc implicit first), bin/sh, etc, bin/ash
    const a = await build(t);
    const b = await build(reordered, 1);
    const ra = await build(t, 3, 'replay');
    const rb = await build(reordered, 1, 'replay');
    expect(ra.digest()).toMatch(/^sha512-[0-9a-f]{128}$/);
    expect(rb.digest()).toBe(ra.digest());
    expect(digestTree(a.root)).toBe(ra.digest());
    expect(digestTree(b.root)).toBe(ra.digest());
    expect(fs.readdirSync(ra.root)).toEqual([]); // replay writes nothing
  });

  it('has no digest while writing (contents are not hashed then)', async () => {
    const a = await build(tree());
    expect(() => a.digest()).toThrow(/replay/);
  });

  it.each([
    ['content', 'other\n', 0o644],
    ['mode', 'box\n', 0o600],
  ])('changes when one file changes its %s', async (_, hostname, mode) => {
    const ra = await build(tree(), 3, 'replay');
    const rb = await build(tree(hostname, mode), 3, 'replay');
    const b = await build(tree(hostname, mode));
    expect(rb.digest()).not.toBe(ra.digest());
    expect(digestTree(b.root)).toBe(rb.digest());
  });

  it('notices a change made on disk afterwards', async () => {
    const a = await build(tree());
    const ra = await build(tree(), 3, 'replay');
    expect(digestTree(a.root)).toBe(ra.digest());
    fs.appendFileSync(at(a, 'etc/hostname'), 'tampered');
    expect(digestTree(a.root)).not.toBe(ra.digest());
  });
});
