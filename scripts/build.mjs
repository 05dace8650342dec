// Bundles the CLI into one CommonJS file, dist/cli/main.cjs, with esbuild. One file loaded by
// Node's CommonJS loader starts much faster than dozens of ES modules (bench/startup.mjs): parts a
// command does not use are wrapped by esbuild and only compiled when first imported.
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
  outfile: path.join(tmp, 'cli/main.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Native and large packages stay in node_modules and are required on first use.
  external: ['better-sqlite3', 'openpgp', 'tar', 'undici'],
  define: { 'import.meta.url': '__capsuleModuleUrl' },
  banner: { js: "const __capsuleModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
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
