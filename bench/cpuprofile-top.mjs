#!/usr/bin/env node
// Summarizes V8 .cpuprofile files (from `node --cpu-prof`): self time by function+location, self
// time by package/module, and inclusive ("total") time by function. Several files are summed.
//   node bench/cpuprofile-top.mjs [--top N] FILE_OR_DIR...
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
let top = 25;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--top') top = Number(args[++i]);
  else if (fs.statSync(args[i]).isDirectory()) for (const f of fs.readdirSync(args[i]).sort()) { if (f.endsWith('.cpuprofile')) files.push(path.join(args[i], f)); }
  else files.push(args[i]);
}
if (files.length === 0) {
  console.error('usage: node bench/cpuprofile-top.mjs [--top N] FILE.cpuprofile|DIR ...');
  process.exit(2);
}

/** Groups a script URL into something readable: a package, a Node internal area, or our code. */
function area(url) {
  if (!url) return '(native/vm)';
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  // Capsule's own build (dist/, or the bench's snapshot of it under node_modules/.cache).
  const own = /\/(?:node_modules\/\.cache\/capsule-bench\/)?dist\/(.*)$/.exec(url);
  const nm = url.lastIndexOf('node_modules/');
  if (own && !(nm >= 0 && !url.includes('/node_modules/.cache/capsule-bench/'))) return `capsule:${own[1]}`;
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return `npm:${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  return url.replace(/^file:\/\//, '');
}

const self = new Map();
const byArea = new Map();
const incl = new Map();
let total = 0;
for (const f of files) {
  const p = JSON.parse(fs.readFileSync(f, 'utf8'));
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n) => {
    const cf = n.callFrame;
    const loc = cf.url ? `${area(cf.url)}:${cf.lineNumber + 1}` : '';
    return `${cf.functionName || '(anonymous)'}${loc ? ` ${loc}` : ''}`;
  };
  // timeDeltas[i] is the time since the previous sample; charge sample i with the next delta.
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // ms
    const n = nodes.get(p.samples[i]);
    total += dt;
    const k = key(n);
    self.set(k, (self.get(k) ?? 0) + dt);
    const a = n.callFrame.url ? area(n.callFrame.url) : n.callFrame.functionName;
    byArea.set(a, (byArea.get(a) ?? 0) + dt);
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const kk = key(nodes.get(id));
      if (seen.has(kk)) continue;
      seen.add(kk);
      incl.set(kk, (incl.get(kk) ?? 0) + dt);
    }
  }
}

const show = (title, m, n) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`  ${v.toFixed(1).padStart(9)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
};
console.log(`${files.length} profile(s), ${total.toFixed(1)} ms sampled`);
show('self time by area (package / module):', byArea, top);
show('self time by function:', self, top);
show('inclusive time by function (excluding (root)):', new Map([...incl].filter(([k]) => k !== '(root)')), top);
