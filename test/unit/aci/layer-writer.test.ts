import { describe, expect, it } from 'vitest';
import { LayerWriter } from '../../../src/aci/layer-writer.js';
import type { TarEntry } from '../../../src/aci/tar-reader.js';

function entry(path: string, type: TarEntry['type'] = 'file', extra: Partial<TarEntry> = {}): TarEntry {
  const body = Buffer.from(type === 'file' ? path : '');
  return { path, type, rawType: type, size: body.length, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), linkpath: '', devmajor: 0, devminor: 0, data: body.length > 0 ? [body] as unknown as AsyncIterable<Buffer> : ([] as unknown as AsyncIterable<Buffer>), ...extra };
}

/** Applies layers in replay mode (nothing written) and lists the resulting paths. */
async function apply(layers: TarEntry[][]): Promise<{ paths: string[]; w: LayerWriter }> {
  const w = new LayerWriter('/nonexistent', undefined, 'replay');
  for (const l of layers) {
    w.nextLayer();
    for (const e of l) await w.add(e);
  }
  w.finish();
  return { paths: [...w.nodes.keys()].filter((k) => k !== '').sort(), w };
}

describe('OCI layer application (replay)', () => {
  it('a whiteout removes the lower path and what is below it, not the same layer’s entries', async () => {
    const { paths } = await apply([[entry('d', 'directory'), entry('d/a'), entry('d/b'), entry('x')], [entry('.wh.d'), entry('d', 'directory'), entry('d/new'), entry('.wh.x')]]);
    expect(paths).toEqual(['d', 'd/new']);
  });
  it('an opaque marker hides lower children wherever it stands, keeps its own layer’s', async () => {
    const before = await apply([[entry('o', 'directory'), entry('o/low'), entry('o/sub', 'directory'), entry('o/sub/low2')], [entry('o/own'), entry('o/sub/own2'), entry('o/.wh..wh..opq')]]);
    expect(before.paths).toEqual(['o', 'o/own', 'o/sub', 'o/sub/own2']);
    const after = await apply([[entry('o', 'directory'), entry('o/low')], [entry('o/.wh..wh..opq'), entry('o/own')]]);
    expect(after.paths).toEqual(['o', 'o/own']);
  });
  it('a hardlink to a lower layer’s file; a later file replaces a directory and vice versa', async () => {
    const { paths, w } = await apply([[entry('f'), entry('dir', 'directory'), entry('dir/in')], [entry('h', 'hardlink', { linkpath: 'f' }), entry('dir'), entry('f', 'directory')]]);
    expect(paths).toEqual(['dir', 'f', 'h']);
    expect(w.nodes.get('dir')?.type).toBe('file');
    expect(w.nodes.get('h')?.type).toBe('file');
    expect(w.nodes.get('f')?.type).toBe('dir');
  });
  it('setuid bits are cleared and device nodes skipped, both reported', async () => {
    const { paths, w } = await apply([[entry('bin/su', 'file', { mode: 0o4755 }), entry('dev/null', 'char')]]);
    expect(paths).toEqual(['bin', 'bin/su']);
    expect(w.nodes.get('bin/su')?.mode).toBe(0o755);
    expect(w.report).toEqual({ privilegeCleared: ['bin/su'], specialSkipped: ['dev/null'] });
  });
  it('refuses two entries for one path in one layer', async () => {
    await expect(apply([[entry('a'), entry('a')]])).rejects.toThrow(/duplicate entry in one layer: "a"/);
  });
});
