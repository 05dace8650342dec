// SIGTERM or SIGINT to `fetch` in the middle of an import left its temp blob and tree under
// cas/tmp until the next `image gc` (issue 12 §5). The import is held in the window with the
// test pause (blob and tree written, nothing committed), signalled there, and cas/tmp must be
// empty afterwards, with the process ended by that signal and nothing indexed. The victim: an
// image fetched before, whose blob and index row must stay.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CAPSULE, makeWorld, type World } from '../helpers/cli.js';
import { sampleImage } from '../helpers/images.js';
import { busyboxEntries, OciLayoutWriter } from '../helpers/oci-layout.js';
import { waitFor } from '../helpers/pods.js';

let w: World;
beforeEach(() => {
  w = makeWorld('capsule-sec-hd-');
});
afterEach(() => w.cleanup());

const tmpDir = (): string => path.join(w.dir, 'cas', 'tmp');
const listIds = async (): Promise<string[]> => {
  const r = await w.run(['image', 'list', '--format=json']);
  return (JSON.parse(r.stdout || '[]') as { id: string }[]).map((i) => i.id);
};

async function interrupted(source: string, point: string, sig: NodeJS.Signals): Promise<{ signal: NodeJS.Signals | null; code: number | null; during: string[] }> {
  const pause = path.join(w.base, `paused-${point}`);
  const child = spawn(CAPSULE, [...w.flags, '--insecure-options=image', 'fetch', source], {
    env: { ...process.env, CAPSULE_RUNTIME_DIR: w.runtimeDir, CAPSULE_TEST_PAUSE_AT: point, CAPSULE_TEST_PAUSE_FILE: pause },
    stdio: 'ignore',
  });
  const exited = new Promise<{ signal: NodeJS.Signals | null; code: number | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    await waitFor(`fetch to reach ${point}`, () => fs.existsSync(pause) || child.exitCode !== null);
    expect(child.exitCode).toBeNull();
    const during = fs.readdirSync(tmpDir());
    process.kill(Number(fs.readFileSync(pause, 'utf8')), sig);
    return { ...(await exited), during };
  } finally {
    fs.rmSync(pause, { force: true });
  }
}

describe('fetch stopped by a signal in the middle of an import', () => {
  it('SIGTERM during an ACI import removes its temp blob and tree; the image fetched before stays', async () => {
    const victim = await w.run(['--insecure-options=image', 'fetch', '--full', sampleImage('probe')]);
    expect(victim.code, victim.stderr).toBe(0);
    const r = await interrupted(sampleImage('busybox'), 'after-extract', 'SIGTERM');
    expect(r.during.some((n) => n.startsWith('blob-'))).toBe(true);
    expect(r.during.some((n) => n.startsWith('tree-'))).toBe(true);
    expect(r.signal).toBe('SIGTERM');
    expect(fs.readdirSync(tmpDir())).toEqual([]);
    expect(await listIds()).toEqual([victim.stdout.trim()]);
  }, 60_000);

  it('SIGINT during an OCI import removes its temp tree; nothing is indexed', async () => {
    const dir = path.join(w.base, 'layout');
    const l = new OciLayoutWriter(dir);
    l.tag('v1', l.image({ layers: [{ entries: busyboxEntries() }] }).manifest);
    const r = await interrupted(`oci:${dir}:v1`, 'before-tree-commit', 'SIGINT');
    expect(r.during.some((n) => n.startsWith('tree-'))).toBe(true);
    expect(r.signal).toBe('SIGINT');
    expect(fs.readdirSync(tmpDir())).toEqual([]);
    expect(await listIds()).toEqual([]);
  }, 60_000);
});
