import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LayerFeed } from '../../../src/oci/layer-feed.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-oc4-feed-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('LayerFeed: reading a blob while it downloads', () => {
  it('yields the bytes as they are written and ends only after the digest check, also across the rename', async () => {
    const f = path.join(dir, 'partial');
    const dest = path.join(dir, 'blob');
    fs.writeFileSync(f, 'abc');
    const feed = new LayerFeed(6);
    feed.started(f, 3);
    let ended = false;
    const got = collect(feed.chunks()).then((b) => ((ended = true), b));
    await tick();
    fs.appendFileSync(f, 'def');
    feed.written(6);
    await tick();
    expect(ended).toBe(false);
    fs.renameSync(f, dest);
    feed.verified();
    feed.movedTo(dest);
    expect((await got).toString()).toBe('abcdef');
  });

  it('a failed download makes the reader throw, even after all bytes were read', async () => {
    const f = path.join(dir, 'partial');
    fs.writeFileSync(f, 'xyz');
    const feed = new LayerFeed(3);
    feed.started(f, 3);
    const got = collect(feed.chunks());
    await tick();
    feed.fail(new Error('layer does not match its digest'));
    await expect(got).rejects.toThrow(/does not match its digest/);
  });

  it('ready() tells a blob the store had from one that downloads, and throws for one that failed', async () => {
    const a = new LayerFeed(1);
    const r = a.ready();
    a.present();
    await expect(r).resolves.toBe('present');
    const b = new LayerFeed(1);
    const rb = b.ready();
    b.fail(new Error('never started'));
    await expect(rb).rejects.toThrow('never started');
  });
});
