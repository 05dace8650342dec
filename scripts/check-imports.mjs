// Enforces the import direction of ../shared/STYLE.md inside src/ and rejects import cycles.
// Allowed: what each folder may import (besides itself). Nothing imports cli/.
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(import.meta.dirname, '../src');
const ALLOWED = {
  cli: ['stage0', 'mds', 'oci', 'fetch', 'store', 'verify', 'aci', 'config', 'spec', 'sys', 'errors', 'stage1', 'net', 'version.ts'],
  stage0: ['mds', 'oci', 'fetch', 'store', 'verify', 'aci', 'config', 'spec', 'sys', 'errors', 'stage1/contract'],
  fetch: ['store', 'verify', 'aci', 'spec', 'sys', 'errors', 'config'],
  verify: ['spec', 'sys', 'errors'],
  store: ['aci', 'spec', 'sys', 'errors'],
  aci: ['spec', 'sys', 'errors'],
  config: ['spec', 'sys', 'errors'],
  spec: ['errors'],
  sys: ['errors'],
  errors: [],
  oci: ['fetch', 'store', 'verify', 'aci', 'config', 'spec', 'sys', 'errors'],
  net: ['spec', 'sys', 'errors'],
  mds: ['errors'],
  stage1: ['stage1/contract', 'net', 'spec', 'sys', 'errors'],
};

const files = [];
const walk = (d) => {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
};
walk(SRC);

const problems = [];
const graph = new Map();
for (const f of files) {
  const rel = path.relative(SRC, f);
  const area = rel.split(path.sep)[0];
  const text = fs.readFileSync(f, 'utf8');
  const deps = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
    const target = path.relative(SRC, path.resolve(path.dirname(f), m[1])).replace(/\.js$/, '.ts');
    deps.push(target);
    const tArea = target.split(path.sep)[0];
    if (tArea === area) continue;
    const ok = (ALLOWED[area] ?? []).some((a) => target === a || target === `${a}.ts` || target.startsWith(`${a}/`) || tArea === a);
    if (!ok) problems.push(`${rel} imports ${target}: ${area}/ may not import ${tArea}/`);
    if (area === 'stage1' && target.startsWith('stage1/') && !target.startsWith('stage1/contract') && !target.startsWith('stage1/common/')) {
      const fl = rel.split(path.sep)[1];
      if (!target.startsWith(`stage1/${fl}`)) problems.push(`${rel} imports ${target}: flavours meet only in stage1/contract`);
    }
  }
  graph.set(rel, deps);
}

// Cycle check (static imports only; `await import()` breaks no cycle at load time but is listed too).
const state = new Map();
const stack = [];
const visit = (n) => {
  if (state.get(n) === 2) return;
  if (state.get(n) === 1) {
    problems.push(`import cycle: ${[...stack.slice(stack.indexOf(n)), n].join(' -> ')}`);
    return;
  }
  state.set(n, 1);
  stack.push(n);
  for (const d of graph.get(n) ?? []) if (graph.has(d)) visit(d);
  stack.pop();
  state.set(n, 2);
};
for (const n of graph.keys()) visit(n);

if (problems.length > 0) {
  for (const p of problems) console.error(`check-imports: ${p}`);
  process.exit(1);
}
console.log(`check-imports: ${files.length} files, import direction ok, no cycles`);
