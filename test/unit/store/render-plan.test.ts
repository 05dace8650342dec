import { describe, expect, it } from 'vitest';
import type { ImageId } from '../../../src/spec/image-id.js';
import type { Dependency, ImageManifest } from '../../../src/spec/image-manifest.js';
import type { AcIdentifier } from '../../../src/spec/ac-identifier.js';
import { layerFilter, MAX_DEPENDENCY_DEPTH, planRender, treeIdOf, type PlannedLayer, type RenderImage } from '../../../src/store/render-plan.js';

/** A fake store: images by name; dependencies resolve by name (or by imageID when given). */
function world(defs: Record<string, { deps?: string[]; whitelist?: string[] }>): { img: (n: string) => RenderImage; resolve: (d: Dependency) => RenderImage } {
  const idOf = (n: string): ImageId => `sha512-${Buffer.from(n).toString('hex').padEnd(128, '0')}` as ImageId;
  const images = new Map<string, RenderImage>();
  for (const [name, d] of Object.entries(defs)) {
    const manifest: ImageManifest = { acKind: 'ImageManifest', acVersion: '0.8.11', name: name as AcIdentifier };
    if (d.deps) manifest.dependencies = d.deps.map((n) => ({ imageName: n as AcIdentifier }));
    if (d.whitelist) manifest.pathWhitelist = d.whitelist;
    images.set(name, { id: idOf(name), manifest });
  }
  const img = (n: string): RenderImage => {
    const i = images.get(n);
    if (!i) throw new Error(`no image ${n}`);
    return i;
  };
  const byId = new Map([...images.values()].map((i) => [i.id, i]));
  return { img, resolve: (d) => (d.imageID ? byId.get(d.imageID)! : img(d.imageName)) };
}

const names = (plan: PlannedLayer[]): string[] => plan.map((l) => l.manifest.name);
/** The spec's "extract in this order, later wins" order is the plan (first writer wins) reversed. */
const extractOrder = (plan: PlannedLayer[]): string[] => names(plan).reverse();

/** Applies a plan the way the tree writer does: first writer wins, filtered per layer. */
function simulate(plan: PlannedLayer[], files: Record<string, string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of plan) {
    const f = layerFilter(l);
    for (const p of files[l.manifest.name] ?? []) {
      const isDir = p.endsWith('/');
      const rel = p.replace(/\/$/, '');
      if (out[rel] !== undefined) continue;
      if (f && !f(rel, isDir)) continue;
      out[rel] = l.manifest.name;
    }
  }
  return out;
}

describe('planRender: appc dependency order', () => {
  it('A → [B, C], C → [D] extracts B, D, C, A (later wins)', () => {
    const w = world({ A: { deps: ['B', 'C'] }, B: {}, C: { deps: ['D'] }, D: {} });
    const plan = planRender(w.img('A'), w.resolve);
    expect(names(plan)).toEqual(['A', 'C', 'D', 'B']);
    expect(extractOrder(plan)).toEqual(['B', 'D', 'C', 'A']);
    expect(simulate(plan, { A: ['a', 'all'], B: ['b', 'bd', 'bc', 'all'], C: ['c', 'bc', 'dc', 'all'], D: ['d', 'bd', 'dc', 'all'] })).toEqual({
      a: 'A', all: 'A', b: 'B', bc: 'C', bd: 'D', c: 'C', d: 'D', dc: 'C',
    });
  });

  it('a DAG A → [B, C], B → [D], C → [D] visits D twice: D, B, D, C, A', () => {
    const w = world({ A: { deps: ['B', 'C'] }, B: { deps: ['D'] }, C: { deps: ['D'] }, D: {} });
    expect(extractOrder(planRender(w.img('A'), w.resolve))).toEqual(['D', 'B', 'D', 'C', 'A']);
  });

  it('an image without dependencies is its own plan', () => {
    const w = world({ A: {} });
    const plan = planRender(w.img('A'), w.resolve);
    expect(plan).toEqual([{ ...w.img('A'), ancestorWhitelist: undefined, ownWhitelist: undefined }]);
    expect(layerFilter(plan[0]!)).toBeUndefined();
  });

  it('resolves dependencies by imageID when given and passes the parent', () => {
    const w = world({ A: {}, B: {} });
    const top: RenderImage = { ...w.img('A'), manifest: { ...w.img('A').manifest, dependencies: [{ imageName: 'X' as AcIdentifier, imageID: w.img('B').id }] } };
    const parents: string[] = [];
    const plan = planRender(top, (d, parent) => {
      parents.push(parent.manifest.name);
      return w.resolve(d);
    });
    expect(names(plan)).toEqual(['A', 'B']);
    expect(parents).toEqual(['A']);
  });

  it('propagates resolver errors (missing dependency)', () => {
    const w = world({ A: { deps: ['missing'] } });
    expect(() => planRender(w.img('A'), w.resolve)).toThrow(/no image missing/);
  });
});

describe('planRender: cycles and depth', () => {
  it('rejects A → B → A', () => {
    const w = world({ A: { deps: ['B'] }, B: { deps: ['A'] } });
    expect(() => planRender(w.img('A'), w.resolve)).toThrow(/dependency cycle: sha512-\S+ -> sha512-\S+ -> sha512-\S+/);
  });
  it('rejects a self-dependency and a cycle below the top', () => {
    const self = world({ A: { deps: ['A'] } });
    expect(() => planRender(self.img('A'), self.resolve)).toThrow(/dependency cycle/);
    const deep = world({ A: { deps: ['B'] }, B: { deps: ['C'] }, C: { deps: ['B'] } });
    try {
      planRender(deep.img('A'), deep.resolve);
      expect.unreachable('cycle accepted');
    } catch (e) {
      expect((e as { code: string }).code).toBe('dependency-cycle');
    }
  });
  it('a diamond is not a cycle', () => {
    const w = world({ A: { deps: ['B', 'C'] }, B: { deps: ['D'] }, C: { deps: ['D'] }, D: { deps: ['E'] }, E: {} });
    expect(names(planRender(w.img('A'), w.resolve))).toEqual(['A', 'C', 'D', 'E', 'B', 'D', 'E']);
  });
  it(`refuses chains deeper than ${MAX_DEPENDENCY_DEPTH}`, () => {
    const defs: Record<string, { deps?: string[] }> = {};
    const ok = MAX_DEPENDENCY_DEPTH;
    for (let i = 0; i < ok; i++) defs[`n${i}`] = i + 1 < ok ? { deps: [`n${i + 1}`] } : {};
    const w = world(defs);
    expect(planRender(w.img('n0'), w.resolve)).toHaveLength(ok);
    const defs2 = { ...defs, [`n${ok - 1}`]: { deps: [`n${ok}`] }, [`n${ok}`]: {} };
    const w2 = world(defs2);
    expect(() => planRender(w2.img('n0'), w2.resolve)).toThrow(/nested deeper than/);
  });
});

describe('planRender: pathWhitelist', () => {
  it('each image carries its own whitelist and the root-most ancestor’s', () => {
    const w = world({ A: { deps: ['B'], whitelist: ['/a'] }, B: { deps: ['D'], whitelist: ['/b'] }, D: {} });
    const [a, b, d] = planRender(w.img('A'), w.resolve);
    expect([a!.ancestorWhitelist, a!.ownWhitelist]).toEqual([undefined, new Set(['/a'])]);
    expect([b!.ancestorWhitelist, b!.ownWhitelist]).toEqual([new Set(['/a']), new Set(['/b'])]);
    expect([d!.ancestorWhitelist, d!.ownWhitelist]).toEqual([new Set(['/a']), undefined]);
  });

  it('without a top whitelist the first ancestor with one filters below it; an empty list is no list', () => {
    const w = world({ A: { deps: ['B'], whitelist: [] }, B: { deps: ['D'], whitelist: ['/b', '/d'] }, D: {} });
    const [a, b, d] = planRender(w.img('A'), w.resolve);
    expect(a!.ownWhitelist).toBeUndefined();
    expect(b!.ancestorWhitelist).toBeUndefined();
    expect(d!.ancestorWhitelist).toEqual(new Set(['/b', '/d']));
  });

  it('ancestor whitelists filter every entry by exact path; own whitelists only non-directories', () => {
    const w = world({ A: { deps: ['B'], whitelist: ['/keep', '/etc/keep', '/dir'] }, B: {} });
    const [a, b] = planRender(w.img('A'), w.resolve);
    const own = layerFilter(a!)!;
    expect(own('keep', false)).toBe(true);
    expect(own('drop', false)).toBe(false);
    expect(own('etc', true)).toBe(true); // own whitelist keeps directories
    const anc = layerFilter(b!)!;
    expect(anc('etc/keep', false)).toBe(true);
    expect(anc('etc', true)).toBe(false); // exact match only: "/etc" is not listed
    expect(anc('dir', true)).toBe(true);
    expect(anc('dir/inner', false)).toBe(false); // a listed directory does not whitelist its contents
    expect(anc('keep/', false)).toBe(false);
  });

  it('a shared dependency is filtered differently on each path of a DAG', () => {
    const w = world({ T: { deps: ['P', 'Q'] }, P: { deps: ['D'], whitelist: ['/p', '/d1'] }, Q: { deps: ['D'] }, D: {} });
    const files = { P: ['p', 'p-extra'], Q: ['q'], D: ['d1', 'd2'] };
    const plan = planRender(w.img('T'), w.resolve);
    expect(simulate(plan, files)).toEqual({ d1: 'D', d2: 'D', p: 'P', q: 'Q' });
    const onlyP = world({ T: { deps: ['P'] }, P: { deps: ['D'], whitelist: ['/p', '/d1'] }, D: {} });
    expect(simulate(planRender(onlyP.img('T'), onlyP.resolve), files)).toEqual({ d1: 'D', p: 'P' });
  });
});

describe('treeIdOf', () => {
  it('is deps-sha512- and 64 hex over the ordered image IDs', () => {
    const w = world({ A: { deps: ['B', 'C'] }, B: {}, C: {} });
    const plan = planRender(w.img('A'), w.resolve);
    const id = treeIdOf(plan);
    expect(id).toMatch(/^deps-sha512-[0-9a-f]{64}$/);
    expect(treeIdOf(planRender(w.img('A'), w.resolve))).toBe(id);
    expect(treeIdOf([...plan].reverse())).not.toBe(id);
    expect(treeIdOf(plan.slice(0, 2))).not.toBe(id);
    expect(treeIdOf([w.img('B')])).not.toBe(treeIdOf([w.img('C')]));
  });
});
