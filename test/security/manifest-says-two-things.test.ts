// A manifest that two JSON readers read differently (issue 12 §3): `name` twice (the trust check
// used the name JSON.parse keeps, another reader the first one), bytes that are not UTF-8
// (decoded lossily), numbers out of range (`1e400` becomes Infinity), pathWhitelist entries that
// name one path two ways; and a --volume mode that makes a setuid/setgid directory. Each is
// refused with one line naming the problem, exit 254, and nothing is added to the store; the
// victim, an image fetched before, stays listed.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { manifestJson, rawTar, simpleAci } from '../helpers/images.js';

let w: World;
let victim: string;
beforeAll(async () => {
  w = makeWorld('capsule-sec-hd-');
  const f = path.join(w.base, 'victim.aci');
  fs.writeFileSync(f, simpleAci('example.com/victim', [{ path: 'rootfs/v', body: 'v' }]));
  const r = await w.run(['--insecure-options=image', 'fetch', '--full', f]);
  expect(r.code, r.stderr).toBe(0);
  victim = r.stdout.trim();
});
afterAll(() => w?.cleanup());

const ids = async (): Promise<string[]> => (JSON.parse((await w.run(['image', 'list', '--format=json'])).stdout) as { id: string }[]).map((i) => i.id);

async function fetchRaw(name: string, manifest: Buffer | string): Promise<string[]> {
  const f = path.join(w.base, `${name}.aci`);
  fs.writeFileSync(f, rawTar([{ path: 'rootfs/', type: 'Directory' }, { path: 'manifest', body: manifest }], { gzip: true }));
  const r = await w.run(['--insecure-options=image', 'fetch', f]);
  expect(r.code, r.stderr).toBe(254);
  expect(await ids()).toEqual([victim]);
  return errorLines(r).filter((l) => !l.includes('signature verification has been disabled'));
}

describe('manifests that mean two things', () => {
  it('a key named twice ("name", then "exec" in app) is refused, naming the key', async () => {
    const good = manifestJson('example.com/good');
    const twice = good.replace('"name":"example.com/good"', '"name":"example.com/good","name":"example.com/evil"');
    expect(await fetchRaw('dup-name', twice)).toEqual([expect.stringMatching(/^fetch: .*manifest: not valid JSON: duplicate key "name" at character \d+$/)]);
    const exec = manifestJson('example.com/good', { app: { exec: ['/a'], user: '0', group: '0' } }).replace('"exec":["/a"]', '"exec":["/a"],"exec":["/b"]');
    expect(await fetchRaw('dup-exec', exec)).toEqual([expect.stringMatching(/duplicate key "exec"/)]);
  });

  it('bytes that are not UTF-8 are refused, not decoded lossily', async () => {
    const text = manifestJson('example.com/good', { annotations: [{ name: 'x', value: 'VALUE' }] });
    const bytes = Buffer.from(text);
    const at = bytes.indexOf('VALUE');
    bytes[at] = 0xff;
    expect(await fetchRaw('not-utf8', bytes)).toEqual([expect.stringMatching(/^fetch: .*manifest: not valid UTF-8$/)]);
  });

  it('a number out of range (1e400) and a lone surrogate are refused', async () => {
    const big = manifestJson('example.com/good', { dependencies: [{ imageName: 'example.com/dep', size: 7 }] }).replace('"size":7', '"size":1e400');
    expect(await fetchRaw('big-number', big)).toEqual([expect.stringMatching(/number 1e400 out of range/)]);
    const lone = manifestJson('example.com/good', { annotations: [{ name: 'x', value: 'SURR' }] }).replace('SURR', '\\ud800');
    expect(await fetchRaw('lone-surrogate', lone)).toEqual([expect.stringMatching(/lone surrogate/)]);
  });

  it('a pod manifest with a key named twice is refused', async () => {
    const f = path.join(w.base, 'pod.json');
    fs.writeFileSync(f, `{"acVersion":"0.8.11","acKind":"PodManifest","apps":[{"name":"a","name":"b","image":{"id":"${victim}"}}]}`);
    const r = await w.run(['prepare', `--pod-manifest=${f}`]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual([expect.stringMatching(/pod manifest: not valid JSON: duplicate key "name" at character \d+$/)]);
  });

  it('pathWhitelist entries with "..", "." or listed twice are refused', async () => {
    for (const [name, list, why] of [
      ['pwl-dotdot', ['/bin/../etc/shadow'], /pathWhitelist\[0\].*must be a clean path/],
      ['pwl-dot', ['/bin/./sh'], /pathWhitelist\[0\].*must be a clean path/],
      ['pwl-twice', ['/bin/sh', '/bin/sh'], /pathWhitelist\[1\].*listed twice/],
    ] as const) {
      expect(await fetchRaw(name, manifestJson('example.com/good', { pathWhitelist: list }))).toEqual([expect.stringMatching(why)]);
    }
  });

  it('--volume kind=empty,mode=7777 or 2755 (setuid/setgid directory) is refused', async () => {
    const r = await w.run(['prepare', '--volume=data,kind=empty,mode=7777', victim]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual([expect.stringMatching(/mode 7777 sets the setuid or setgid bit/)]);
    const r2 = await w.run(['prepare', '--volume=data,kind=empty,mode=2755', victim]);
    expect(errorLines(r2)).toEqual([expect.stringMatching(/mode 2755 sets the setuid or setgid bit/)]);
    expect(fs.existsSync(path.join(w.dir, 'pods', 'prepared')) ? fs.readdirSync(path.join(w.dir, 'pods', 'prepared')) : []).toEqual([]);
  });
});
