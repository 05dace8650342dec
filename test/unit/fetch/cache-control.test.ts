import { describe, expect, it } from 'vitest';
import { maxAgeOf } from '../../../src/fetch/cache-control.js';
import { isFresh, type RemoteRecord } from '../../../src/store/remote-index.js';
import { redactUrl } from '../../../src/fetch/http-client.js';

describe('Cache-Control max-age', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['max-age=60', 60],
    ['public, max-age=3600', 3600],
    ['Max-Age=5', 5],
    ['no-cache', 0],
    ['max-age=60, no-store', 0],
    ['max-age=abc', undefined],
    ['s-maxage=60', undefined],
  ])('%j → %j', (h, want) => {
    expect(maxAgeOf(h)).toBe(want);
  });

  it('caps absurd values', () => {
    expect(maxAgeOf('max-age=99999999999')).toBe(10 * 365 * 86400);
  });
});

describe('freshness', () => {
  const rec = (maxAge: number | undefined): RemoteRecord => ({ url: 'https://x/a.aci', sigUrl: undefined, etag: '"e"', imageId: `sha512-${'a'.repeat(128)}` as RemoteRecord['imageId'], maxAge, downloadTime: 1_000_000 });
  it('is fresh only within max-age of the download', () => {
    expect(isFresh(rec(60), 1_000_000 + 59_999)).toBe(true);
    expect(isFresh(rec(60), 1_000_000 + 60_000)).toBe(false);
    expect(isFresh(rec(0), 1_000_000)).toBe(false);
    expect(isFresh(rec(undefined), 1_000_000)).toBe(false);
  });
});

describe('redactUrl', () => {
  it('removes credentials and keeps the rest', () => {
    expect(redactUrl('https://user:s3cret@example.com:8443/a.aci?x=1')).toBe('https://example.com:8443/a.aci?x=1');
    expect(redactUrl('https://example.com/a.aci')).toBe('https://example.com/a.aci');
    expect(redactUrl('not a url //user:pw@host/x')).not.toContain('pw');
  });
});

describe('batched', () => {
  it('gathers small chunks into buffers of at least the minimum, losing and reordering nothing', async () => {
    const { batched } = await import('../../../src/fetch/download.js');
    const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1000 + i, i));
    async function* src(): AsyncGenerator<Buffer> {
      for (const c of chunks) yield await Promise.resolve(c);
    }
    const out: Buffer[] = [];
    for await (const b of batched(src(), 10_000)) out.push(b);
    expect(Buffer.concat(out).equals(Buffer.concat(chunks))).toBe(true);
    expect(out.slice(0, -1).every((b) => b.length >= 10_000)).toBe(true);
    expect(out.length).toBeLessThan(chunks.length / 5);
  });
});
