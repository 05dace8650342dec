// Bundles the CLI into one CommonJS file, dist/cli/main.cjs, with esbuild. One file loaded by
// Node's CommonJS loader starts much faster than dozens of ES modules (bench/startup.mjs): parts a
// command does not use are wrapped by esbuild and only compiled when first imported.
// Types are checked separately (`npm run typecheck`); this only transpiles and bundles.
// The new dist/ is built beside the old one and swapped in by rename, so a `capsule` process
// started meanwhile (another test run) never sees a half-written dist/.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/**
 * commander requires node:child_process at load time (~2.5 ms, it loads Node's stream and net
 * internals) but uses it only to run executable subcommands, which Capsule has none of: give
 * commander a stand-in that loads the real module on first use.
 */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (args.importer.includes(`${path.sep}node_modules${path.sep}commander${path.sep}`) ? { path: 'child_process', namespace: 'capsule-lazy' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'capsule-lazy' }, () => ({
      contents: "module.exports = { spawn: (...args) => require('node:child_process').spawn(...args) };",
      loader: 'js',
    }));
  },
};
const tmp = path.join(root, `.dist-${process.pid}`);
const old = path.join(root, `.dist-old-${process.pid}`);
rmSync(tmp, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outfile: path.join(tmp, 'cli/main.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Native and large packages stay in node_modules and are required on first use.
  external: ['better-sqlite3', 'openpgp', 'tar'],
  define: { 'import.meta.url': '__capsuleModuleUrl' },
  banner: { js: "const __capsuleModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // bin/boot.cjs loads this file; run directly (node dist/cli/main.cjs …) it runs itself.
  footer: { js: 'if (require.main === module) module.exports.main(process.argv.slice(2)).then((c) => { process.exitCode = c; });' },
  // Smaller source parses faster on every start; identifiers are kept so stack traces stay readable.
  plugins: [lazyChildProcessForCommander],
  minifyWhitespace: true,
  minifySyntax: true,
  // import() becomes require(): bin/boot.cjs runs the bundle through vm.Script, which has no
  // loader for import(), and require() of a CommonJS build is faster anyway.
  supported: { 'dynamic-import': false },
  logLevel: 'warning',
});
// The stage1 helper (C, src/stage1/helper/) goes to dist/libexec/capsule-stage1.
execFileSync('sh', [path.join(root, 'scripts/build-helper.sh'), tmp], { stdio: 'inherit' });
const dist = path.join(root, 'dist');
try {
  renameSync(dist, old);
} catch {
  /* no previous build */
}
renameSync(tmp, dist);
rmSync(old, { recursive: true, force: true });
// V8's code cache for the bundle, recorded while running commands that start often. Made from
// dist/ itself (after the swap), so the cached functions carry the bundle's real file name.
// Under the flags bin/capsule gives Node (none): V8 rejects a cache made under others.
execFileSync(process.execPath, [path.join(root, 'bin/boot.cjs')], {
  env: { ...process.env, CAPSULE_BOOT_CACHE_RUNS: JSON.stringify([['version'], ['--dir=/nonexistent/capsule-build', 'image', 'list'], ['--dir=/nonexistent/capsule-build', 'list'], ['run', '--help']]) },
  stdio: 'ignore',
});
