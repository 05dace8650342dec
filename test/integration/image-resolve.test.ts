import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { simpleAci } from '../helpers/images.js';
import { expectedId, fetchInsecure, writeImage } from '../helpers/store-check.js';

const HEX = 'sha512-'.length;

/**
 * Image arguments of the `image` commands: ID prefixes (≥ 2 hex, unique) and names.
 * Two images are chosen among variants so that their IDs share the first two hex digits.
 */
describe('image arguments: ID prefixes and names', () => {
  let w: World;
  let a: string;
  let b: string;
  let common: number;

  beforeAll(async () => {
    w = makeWorld();
    const byPrefix = new Map<string, { aci: Buffer; id: string }>();
    let pair: [{ aci: Buffer; id: string }, { aci: Buffer; id: string }] | undefined;
    for (let i = 0; pair === undefined && i < 5000; i++) {
      const aci = simpleAci('example.com/variant', [{ path: 'rootfs/n', body: `variant ${i}\n` }], { labels: [{ name: 'version', value: String(i) }] });
      const id = expectedId(aci);
      const seen = byPrefix.get(id.slice(HEX, HEX + 2));
      if (seen) pair = [seen, { aci, id }];
      else byPrefix.set(id.slice(HEX, HEX + 2), { aci, id });
    }
    if (!pair) throw new Error('no two variants share an ID prefix');
    [a, b] = [pair[0].id, pair[1].id];
    common = 2;
    while (a[HEX + common] === b[HEX + common]) common++;
    for (const [i, p] of pair.entries()) {
      const r = await fetchInsecure(w, [writeImage(w, `v${i}.aci`, p.aci)]);
      expect(r.code, r.stderr).toBe(0);
    }
  });
  afterAll(() => w.cleanup());

  const nameOf = async (arg: string): Promise<{ code: number | null; name?: string; stderr: string }> => {
    const r = await w.run(['image', 'cat-manifest', arg]);
    if (r.code !== 0) return { code: r.code, stderr: r.stderr };
    const m = JSON.parse(r.stdout) as { labels: { name: string; value: string }[] };
    return { code: 0, name: m.labels.find((l) => l.name === 'version')!.value, stderr: r.stderr };
  };
  const versionOf = async (id: string): Promise<string> => (await nameOf(id)).name!;

  it('a unique prefix of at least 2 hex digits resolves; so does the full ID, in any case', async () => {
    const va = await versionOf(a);
    const vb = await versionOf(b);
    expect(va).not.toBe(vb);
    expect(await versionOf(a.slice(0, HEX + common + 1))).toBe(va);
    expect(await versionOf(b.slice(0, HEX + common + 1))).toBe(vb);
    expect(await versionOf(a.slice(0, HEX + 64))).toBe(va);
    expect(await versionOf(`sha512-${a.slice(HEX).toUpperCase()}`)).toBe(va);
  });

  it('a prefix shared by two images is ambiguous', async () => {
    const r = await w.run(['image', 'cat-manifest', a.slice(0, HEX + 2)]);
    expect(r.code).toBe(254);
    expect(r.stdout).toBe('');
    expect(errorLines(r)).toHaveLength(1);
    expect(r.stderr).toMatch(/^image cat-manifest: ambiguous image ID/);
  });

  it('`sha512-a` and `sha512-` are too short', async () => {
    for (const arg of ['sha512-a', 'sha512-']) {
      const r = await w.run(['image', 'cat-manifest', arg]);
      expect(r.code).toBe(254);
      expect(errorLines(r)).toHaveLength(1);
      expect(r.stderr).toContain('image ID too short');
    }
  });

  it('a prefix matching nothing is not found', async () => {
    let miss = 'ff';
    while (a.slice(HEX).startsWith(miss) || b.slice(HEX).startsWith(miss)) miss = miss === 'ff' ? '00' : '01';
    const r = await w.run(['image', 'cat-manifest', `sha512-${miss}`]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
    expect(r.stderr).toContain('no image IDs found');
  });

  it('non-hex after sha512- is rejected', async () => {
    const r = await w.run(['image', 'cat-manifest', 'sha512-xyz']);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toHaveLength(1);
  });

  it('names resolve with :version; an unknown name or version is not found', async () => {
    const va = await versionOf(a);
    expect(await versionOf(`example.com/variant:${va}`)).toBe(va);
    for (const arg of ['example.com/variant:no-such-version', 'example.com/other']) {
      const r = await w.run(['image', 'cat-manifest', arg]);
      expect(r.code).toBe(254);
      expect(errorLines(r)).toHaveLength(1);
    }
  });

  it('the same rules apply to every image command', async () => {
    const out = `${w.base}/out`;
    for (const args of [['image', 'export', a.slice(0, HEX + 2), `${out}.aci`], ['image', 'render', 'sha512-a', out], ['image', 'extract', a.slice(0, HEX + 2), out], ['image', 'verify', 'sha512-a']]) {
      const r = await w.run(args);
      expect(r.code, args.join(' ')).toBe(254);
      expect(r.stderr, args.join(' ')).toMatch(/ambiguous image ID|image ID too short/);
    }
  });
});
