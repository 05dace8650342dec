import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { errorLines, type RunResult, type World } from './cli.js';

/** The warning every unsigned fetch prints (--insecure-options=image). */
export const SIG_OFF = 'warning: image signature verification has been disabled';
export const SECRET = 'victim data: must never change\n';

/** Enough ".." to climb from any extraction directory to "/", then down to `abs`. */
export const climb = (abs: string): string => `${'../'.repeat(40)}${abs.slice(1)}`;

/** A victim directory with one secret file beside the store; attacks aim at it. */
export function makeVictim(world: World): string {
  const victim = path.join(world.base, 'victim');
  fs.mkdirSync(victim);
  fs.writeFileSync(path.join(victim, 'secret'), SECRET);
  return victim;
}

/** Type, mode, link count, size, mtime and content of everything under `root` except `skip`. */
export function snapshot(root: string, skip: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      if (p === skip) continue;
      const st = fs.lstatSync(p);
      const what = st.isSymbolicLink() ? `link:${fs.readlinkSync(p)}` : st.isFile() ? createHash('sha256').update(fs.readFileSync(p)).digest('hex') : st.isDirectory() ? 'dir' : 'special';
      out[path.relative(root, p)] = `${(st.mode & 0o177777).toString(8)} n${st.nlink} ${st.size} ${st.mtimeMs} ${what}`;
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

/** Every path under `dir` (none when it does not exist). */
export function listAll(dir: string): string[] {
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]) : [];
}

/**
 * The refusal every attack must end in: the victim and everything outside the store unchanged,
 * nothing stored (no image, blob, tree or temp leftover), exit 254 and one line naming `problem`
 * (plus the unsigned-fetch warning when `unsigned`).
 */
export async function expectRejected(world: World, victim: string, r: RunResult, before: Record<string, string>, problem: RegExp, o: { unsigned: boolean }): Promise<string> {
  // The victim first, so an escape is reported as such.
  expect(fs.readdirSync(victim)).toEqual(['secret']);
  expect(fs.readFileSync(path.join(victim, 'secret'), 'utf8')).toBe(SECRET);
  expect(fs.lstatSync(path.join(victim, 'secret')).nlink).toBe(1);
  expect(snapshot(world.base, world.dir)).toEqual(before);
  const list = await world.run(['image', 'list', '--format', 'json']);
  expect(list.code).toBe(0);
  expect(JSON.parse(list.stdout)).toEqual([]);
  expect(listAll(path.join(world.dir, 'cas', 'tmp'))).toEqual([]);
  expect(listAll(path.join(world.dir, 'tree'))).toEqual([]);
  expect(listAll(path.join(world.dir, 'cas', 'blob')).filter((p) => !fs.statSync(path.join(world.dir, 'cas', 'blob', p)).isDirectory())).toEqual([]);
  expect(r.code, r.stderr).toBe(254);
  expect(r.stdout).toBe('');
  const lines = errorLines(r);
  expect(lines.filter((l) => l.includes(SIG_OFF))).toHaveLength(o.unsigned ? 1 : 0);
  const errors = lines.filter((l) => !l.includes(SIG_OFF));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(problem);
  return errors[0]!;
}
