// Bundles the CLI into dist/ with esbuild: one file per lazily loaded part instead of dozens of
// modules, which keeps `capsule` start-up close to `node -e 0` (bench/startup.mjs).
// Types are checked separately (`npm run typecheck`); this only transpiles and bundles.
// The new dist/ is built beside the old one and swapped in by rename, so a `capsule` process
// started meanwhile (another test run) never sees a half-written dist/.
import { build } from 'esbuild';
import { renameSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const tmp = path.join(root, `.dist-${process.pid}`);
const old = path.join(root, `.dist-old-${process.pid}`);
rmSync(tmp, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outbase: 'src',
  outdir: tmp,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Native and very large packages stay in node_modules and load on first use.
  external: ['better-sqlite3', 'openpgp'],
  banner: { js: "import { createRequire as __capsuleRequire } from 'node:module'; const require = __capsuleRequire(import.meta.url);" },
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
const dist = path.join(root, 'dist');
try {
  renameSync(dist, old);
} catch {
  /* no previous build */
}
renameSync(tmp, dist);
rmSync(old, { recursive: true, force: true });
