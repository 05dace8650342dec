'use strict';
// Loads the CLI bundle (dist/cli/main.cjs) with V8's code cache (dist/cli/main.cjs.cache, written by
// `npm run build`), so Node does not compile the whole bundle on every start (bench/startup.mjs).
// A cache that does not match this Node or this bundle is rejected by V8 and ignored.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const dist = process.env.CAPSULE_BOOT_DIST || path.join(__dirname, '..', 'dist', 'cli');
const file = path.join(dist, 'main.cjs');
const cacheFile = `${file}.cache`;
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  /* no cache: compile as usual */
}
const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData });
// Code run by vm.Script cannot import() (Node 20 needs --experimental-vm-modules for that), so
// this file lends the bundle its own loader for the one ES-module package that matters: openpgp,
// whose ESM build verifies ~15% faster in Node than its CommonJS build (src/verify/openpgp-lazy.ts).
globalThis.__capsuleImport = (specifier) => import(specifier);
const m = new Module(file, module);
m.filename = file;
m.paths = Module._nodeModulePaths(dist);
script.runInThisContext().call(m.exports, m.exports, Module.createRequire(file), m, file, dist);
const runs = process.env.CAPSULE_BOOT_CACHE_RUNS;
if (runs === undefined) {
  m.exports.main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
} else {
  // `npm run build`: run a few frequent commands, then save what V8 compiled for them.
  (async () => {
    for (const args of JSON.parse(runs)) await m.exports.main(args);
    const tmp = `${cacheFile}.${process.pid}`;
    fs.writeFileSync(tmp, script.createCachedData());
    fs.renameSync(tmp, cacheFile);
  })();
}
