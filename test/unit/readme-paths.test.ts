import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Every file or folder README.md names in backticks or links, as a path. */
function namedPaths(text: string): string[] {
  const tokens = [...text.matchAll(/`([^`\s]+)`/g), ...text.matchAll(/\]\(([^)\s#]+)\)/g)].map((m) => m[1] ?? '');
  const out = new Set<string>();
  for (const t of tokens) {
    if (/^[a-z]+:/.test(t)) continue; // URLs and image references
    const looksLikePath = /^\.?[A-Za-z0-9_-]+(\/[A-Za-z0-9_.{},*-]*)+$/.test(t) || /^[A-Za-z0-9_.-]+\.(md|sh|mjs|ts|c)$/.test(t);
    if (!looksLikePath) continue;
    const brace = /^(.*)\{([^}]+)\}(.*)$/.exec(t);
    if (brace) for (const alt of (brace[2] ?? '').split(',')) out.add(`${brace[1] ?? ''}${alt}${brace[3] ?? ''}`);
    else out.add(t);
  }
  return [...out];
}

/** A bare name (`pods.md`, `run-args/`) counts when it is in docs/ or anywhere under src/. */
function exists(p: string): boolean {
  if (p.startsWith('dist/')) return true; // built by `npm run build`
  const glob = p.includes('*');
  const check = (abs: string): boolean => {
    if (!glob) return fs.existsSync(abs);
    const dir = path.dirname(abs);
    const re = new RegExp(`^${path.basename(abs).replace(/\./g, '\\.').replace(/\*/g, '.*')}$`);
    return fs.existsSync(dir) && fs.readdirSync(dir).some((n) => re.test(n));
  };
  if (check(path.join(ROOT, p))) return true;
  if (p.includes('/') && !p.endsWith('/')) return false;
  if (check(path.join(ROOT, 'docs', p))) return true;
  const name = p.replace(/\/$/, '');
  const walk = (d: string): boolean =>
    fs.readdirSync(d, { withFileTypes: true }).some((e) => e.isDirectory() && (e.name === name || walk(path.join(d, e.name))));
  return walk(path.join(ROOT, 'src'));
}

describe('README.md points only to files that exist', () => {
  const text = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const paths = namedPaths(text);
  it('names some paths (the check reads it)', () => expect(paths.length).toBeGreaterThan(10));
  it('every named path exists', () => expect(paths.filter((p) => !exists(p))).toEqual([]));
});
