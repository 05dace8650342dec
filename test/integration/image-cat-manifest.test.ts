import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { hostOsArch } from '../../src/spec/os-arch.js';
import { rawTar } from '../helpers/images.js';
import { expectedId, fetchInsecure, writeImage } from '../helpers/store-check.js';

/** A manifest written by hand: its own spacing, key order and a field after `app`. */
const MANIFEST_TEXT = `{
    "acVersion": "0.8.11",
    "acKind":    "ImageManifest",
    "name": "example.com/cat",
    "labels": [ {"name": "version", "value": "3.1"}, {"name": "os", "value": "linux"}, {"name": "arch", "value": "${hostOsArch().arch}"} ],
    "app": { "exec": ["/bin/true"], "user": "0", "group": "0",
             "environment": [{"name": "GREETING", "value": "h\\u00e9llo"}] },
    "annotations": [{"name": "authors", "value": "cat test"}]
}`;

describe('capsule image cat-manifest', () => {
  let w: World;
  let id: string;
  beforeAll(async () => {
    w = makeWorld();
    const aci = rawTar([{ path: 'rootfs/', type: 'Directory' }, { path: 'manifest', body: MANIFEST_TEXT }], { gzip: true });
    id = expectedId(aci);
    const r = await fetchInsecure(w, [writeImage(w, 'cat.aci', aci)]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => w.cleanup());

  it('--pretty-print=false prints the manifest exactly as the image carries it', async () => {
    const r = await w.run(['image', 'cat-manifest', '--pretty-print=false', id.slice(0, 20)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${MANIFEST_TEXT}\n`);
  });

  it('pretty-prints by default (and with --pretty-print): same JSON, indented', async () => {
    for (const args of [[], ['--pretty-print'], ['--pretty-print=true']]) {
      const r = await w.run(['image', 'cat-manifest', ...args, 'example.com/cat:3.1']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(JSON.parse(MANIFEST_TEXT));
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines.length).toBeGreaterThan(10);
      expect(lines[1]).toMatch(/^\s+"acVersion": "0\.8\.11",$/);
    }
  });

  it('an image that is not in the store: 254, one line, nothing on stdout', async () => {
    for (const arg of ['example.com/nothing', 'sha512-0000']) {
      const r = await w.run(['image', 'cat-manifest', arg]);
      expect(r.code).toBe(254);
      expect(r.stdout).toBe('');
      expect(errorLines(r)).toHaveLength(1);
      expect(r.stderr).toMatch(/^image cat-manifest: /);
    }
  });

  it('needs exactly one image argument and a true/false --pretty-print', async () => {
    for (const args of [[], ['--pretty-print'], ['--pretty-print=maybe', 'example.com/cat']]) {
      const r = await w.run(['image', 'cat-manifest', ...args]);
      expect(r.code, args.join(' ')).toBe(254);
      expect(r.stdout).toBe('');
      expect(errorLines(r)).toHaveLength(1);
    }
  });
});
