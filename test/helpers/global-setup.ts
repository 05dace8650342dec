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
 * Integration tests run the real `bin/capsule`; (re)build dist/ when src/ is newer. Sample images
 * are cached in one directory per run, removed at the end.
 */
export default function setup(): () => void {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-images-'));
  process.env.CAPSULE_TEST_IMAGE_CACHE = cache;
  const teardown = (): void => fs.rmSync(cache, { recursive: true, force: true });
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
