import { describe, expect, it } from 'vitest';
import { parseClaim } from '../../../../src/oci/signing/signature-claim.js';
import { claimMismatch } from '../../../../src/oci/signing/verify-oci-signatures.js';
import { parseOciReference } from '../../../../src/oci/reference.js';
import type { Sha256Digest } from '../../../../src/oci/types.js';

const D1 = `sha256:${'1'.repeat(64)}` as Sha256Digest;
const D2 = `sha256:${'2'.repeat(64)}` as Sha256Digest;
const good = (critical: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Uint8Array =>
  Buffer.from(JSON.stringify({ critical: { type: 'atomic container signature', image: { 'docker-manifest-digest': D1 }, identity: { 'docker-reference': 'r.example/team/app:1' }, ...critical }, ...top }));

describe('parseClaim', () => {
  it('reads the identity and digest; optional is not interpreted', () => {
    expect(parseClaim(good({}, { optional: { creator: 'x', timestamp: 1 } }))).toEqual({ dockerReference: 'r.example/team/app:1', dockerManifestDigest: D1 });
  });
  it.each([
    [good({ extra: 1 }), /unknown field "extra" in critical/],
    [good({}, { extra: 1 }), /unknown field "extra" in the top level/],
    [good({ image: { 'docker-manifest-digest': D1, size: 3 } }), /unknown field "size" in critical.image/],
    [good({ identity: {} }), /lacks critical.identity.docker-reference/],
    [good({ type: 'other' }), /critical.type "other"/],
    [good({}, { optional: 'x' }), /"optional" that is not an object/],
    [Buffer.from('{"optional":{}}'), /has no "critical" object/],
    [Buffer.from([0xff, 0xfe]), /not valid JSON/],
  ])('refuses case %#', (payload, why) => {
    expect(() => parseClaim(payload)).toThrow(why);
  });
});

describe('claimMismatch (the mix-and-match rule)', () => {
  const c = (ref: string, digest = D1) => ({ dockerReference: ref, dockerManifestDigest: digest });
  it.each([
    ['r.example/team/app:1', 'r.example/team/app:1', D1, undefined],
    ['busybox:1', 'docker.io/library/busybox:1', D1, undefined],
    ['r.example/team/app:1', 'r.example/team/app:2', D1, /signature for r.example\/team\/app:2, not for r.example\/team\/app:1/],
    ['r.example/team/app:1', 'r.example/team/other:1', D1, /signature for r.example\/team\/other:1/],
    ['r.example/team/app:1', 'r.example/team/app:1', D2, /signs manifest sha256:2+, not sha256:1+/],
    [`r.example/team/app@${D1}`, 'r.example/team/app:7', D1, undefined],
    [`r.example/team/app@${D1}`, 'r.example/other/app:7', D1, /signature for/],
    ['r.example/team/app:1', 'Not A Reference', D1, /not an image reference/],
  ])('asked %s, claim %s', (asked, claimed, digest, want) => {
    const why = claimMismatch(c(claimed, digest), parseOciReference(asked), D1);
    if (want === undefined) expect(why).toBeUndefined();
    else expect(why).toMatch(want);
  });
});
