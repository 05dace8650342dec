import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The last gc of the run: test files collect their own pods in parallel, so the gc that ran after
 * the last pod on the host ended may have seen another file's pod still holding a lease and kept
 * the shared nat chains (src/net/sweep-shared-chains.ts). Run as root only (gc needs it).
 */
function sweepSharedChains(): void {
  if (process.getuid?.() !== 0 || !fs.existsSync(path.join(root, 'dist/cli/main.cjs'))) return;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-final-gc-'));
  try {
    execFileSync(path.join(root, 'bin/capsule'), [`--dir=${path.join(base, 'var')}`, `--local-config=${path.join(base, 'etc')}`, `--system-config=${path.join(base, 'usr-lib')}`, 'gc'], { stdio: 'inherit', env: { ...process.env, CAPSULE_RUNTIME_DIR: path.join(base, 'run') } });
  } catch {
    /* reported on stderr by gc itself */
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

/**
 * Integration tests run the real `bin/capsule`; (re)build dist/ when src/ is newer. Sample images
 * are cached in one directory per run, removed at the end.
 */
export default function setup(): () => void {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-images-'));
  process.env.CAPSULE_TEST_IMAGE_CACHE = cache;
  const teardown = (): void => {
    fs.rmSync(cache, { recursive: true, force: true });
    sweepSharedChains();
  };
  let built = 0;
  try {
    built = fs.statSync(path.join(root, 'dist/cli/main.cjs')).mtimeMs;
  } catch {
    /* not built yet */
  }
  if (built > newestSource(path.join(root, 'src')) && built > fs.statSync(path.join(root, 'scripts/build.mjs')).mtimeMs) return teardown;
  execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root });
  return teardown;
}
