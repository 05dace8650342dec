// An image's own text reached the terminal raw (issue 12 §4): a version label `1\x1b[31m…` drove
// the terminal from `image list`, and a bidi override (U+202E) reversed what the line showed.
// Tables and text lines now show control, C1 and bidi characters escaped, and JSON escapes bidi
// and C1 too (JSON.stringify already escaped C0). The victim: a second, plain image whose row
// must read exactly as before.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorld, type World } from '../helpers/cli.js';
import { simpleAci } from '../helpers/images.js';

let w: World;
const HOSTILE = '1\u001b[31m\u009b2J\u202egnp.exe';
beforeAll(async () => {
  w = makeWorld('capsule-sec-hd-');
  for (const [name, version] of [['example.com/hostile', HOSTILE], ['example.com/plain', '2.0']] as const) {
    const f = path.join(w.base, `${name.split('/')[1]}.aci`);
    fs.writeFileSync(f, simpleAci(name, [], { labels: [{ name: 'version', value: version }] }));
    const r = await w.run(['--insecure-options=image', 'fetch', f]);
    expect(r.code, r.stderr).toBe(0);
  }
});
afterAll(() => w?.cleanup());

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('text from an image shown on a terminal', () => {
  it('image list (table) escapes the escape sequence, the C1 CSI and the bidi override', async () => {
    const r = await w.run(['image', 'list', '--no-legend']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW);
    expect(r.stdout).toContain('example.com/hostile:1\\x1b[31m\\x9b2J\\u202egnp.exe');
    expect(r.stdout.split('\n').find((l) => l.includes('example.com/plain'))).toMatch(/\texample\.com\/plain:2\.0\t/);
  });

  it('image list --format=json escapes bidi and C1 and still means the same string', async () => {
    const r = await w.run(['image', 'list', '--format=json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW);
    const names = (JSON.parse(r.stdout) as { name: string }[]).map((i) => i.name).sort();
    expect(names).toEqual([`example.com/hostile:${HOSTILE}`, 'example.com/plain:2.0']);
  });

  it('an error line quoting the text is inert too', async () => {
    const r = await w.run(['image', 'rm', `example.com/hostile:${HOSTILE}x`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).not.toMatch(RAW);
  });
});
