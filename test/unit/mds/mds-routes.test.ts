import { describe, expect, it } from 'vitest';
import { hmacSign, hmacVerify, newHmacKey, newToken } from '../../../src/mds/mds-hmac.js';
import type { MdsLookup, MdsRegistration } from '../../../src/mds/mds-registration.js';
import { handleMds, JSON_TYPE, TEXT_TYPE, type MdsRequest } from '../../../src/mds/mds-routes.js';

const reg = (uuid: string, over: Partial<MdsRegistration> = {}): MdsRegistration => ({
  uuid,
  token: newToken(),
  hmacKey: newHmacKey(),
  addresses: [],
  podManifest: {
    acKind: 'PodManifest',
    acVersion: '0.8.11',
    apps: [{ name: 'web', image: { id: 'sha512-aa' }, annotations: [{ name: 'lorem', value: 'pod' }, { name: 'only-pod', value: 'p' }] }],
    annotations: [],
  },
  apps: { web: { imageId: 'sha512-aa', imageManifest: { acKind: 'ImageManifest', name: 'example.com/web', annotations: [{ name: 'authors', value: 'me' }, { name: 'lorem', value: 'ipsum' }] } } },
  ...over,
});
const A = reg('11111111-1111-4111-8111-111111111111', { addresses: ['10.1.0.2'] });
const B = reg('22222222-2222-4222-8222-222222222222', { podManifest: { acKind: 'PodManifest', apps: [], annotations: [{ name: 'team', value: 'b' }] }, apps: {} });
const all = [A, B];
const lookup: MdsLookup = {
  byToken: (t) => all.find((r) => r.token === t) ?? null,
  byUuid: (u) => all.find((r) => r.uuid === u) ?? null,
};
const FLAVOR = { 'metadata-flavor': 'AppContainer' };
const req = (url: string, o: Partial<MdsRequest> = {}): MdsRequest => ({ method: 'GET', url, headers: FLAVOR, body: '', remoteAddress: '10.1.0.2', ...o });
const call = (url: string, o: Partial<MdsRequest> = {}): ReturnType<typeof handleMds> => handleMds(req(url, o), lookup);
const v1 = (r: MdsRegistration, p: string): string => `/${r.token}/acMetadata/v1/${p}`;

describe('metadata service routes (appc spec)', () => {
  it.each([
    ['pod/uuid', TEXT_TYPE, A.uuid],
    ['pod/manifest', JSON_TYPE, JSON.stringify(A.podManifest)],
    ['pod/annotations', JSON_TYPE, '[]'],
    ['apps/web/image/id', TEXT_TYPE, 'sha512-aa'],
    ['apps/web/image/manifest', JSON_TYPE, JSON.stringify(A.apps.web?.imageManifest)],
    // Image annotations first, the pod manifest's app annotations over them.
    ['apps/web/annotations', JSON_TYPE, JSON.stringify([{ name: 'authors', value: 'me' }, { name: 'lorem', value: 'pod' }, { name: 'only-pod', value: 'p' }])],
  ])('GET %s: 200, %s', (p, type, body) => {
    const r = call(v1(A, p));
    expect(r).toEqual({ status: 200, headers: { 'Content-Type': type }, body });
  });

  it('pod annotations are a list, also with entries', () => {
    expect(JSON.parse(call(v1(B, 'pod/annotations')).body)).toEqual([{ name: 'team', value: 'b' }]);
  });

  it('a token is taken only from the pod\'s own addresses; an address without a token identifies nobody', () => {
    expect(call(v1(A, 'pod/uuid'), { remoteAddress: '10.1.0.2' }).body).toBe(A.uuid);
    expect(call(v1(A, 'pod/uuid'), { remoteAddress: '10.1.0.3' }).status).toBe(403);
    expect(call('/acMetadata/v1/pod/uuid', { remoteAddress: '10.1.0.2' }).status).toBe(403);
  });

  it('needs Metadata-Flavor: AppContainer (400)', () => {
    expect(call(v1(A, 'pod/uuid'), { headers: {} }).status).toBe(400);
    expect(call(v1(A, 'pod/uuid'), { headers: { 'metadata-flavor': 'Google' } }).status).toBe(400);
  });

  it('an unknown token or unregistered pod gets 403, never data', () => {
    const r = call(`/${newToken()}/acMetadata/v1/pod/manifest`);
    expect(r.status).toBe(403);
    expect(r.body).not.toContain('PodManifest');
    expect(call('/../../etc/passwd/acMetadata/v1/pod/uuid').status).toBe(404);
  });

  it("a pod cannot read another pod's apps: names are looked up in the caller's pod only", () => {
    expect(call(v1(B, 'apps/web/image/manifest'))).toMatchObject({ status: 404, headers: { 'Content-Type': TEXT_TYPE } });
    expect(call(v1(A, 'apps/%E0%A4%A/image/id')).status).toBe(404);
    expect(call(v1(A, 'apps/constructor/image/id')).status).toBe(404);
  });

  it('unknown paths 404, wrong methods 405', () => {
    expect(call(v1(A, 'pod/nothing')).status).toBe(404);
    expect(call(v1(A, 'pod/uuid'), { method: 'POST' })).toMatchObject({ status: 405, headers: { Allow: 'GET, HEAD' } });
    expect(call(v1(A, 'pod/hmac/sign'))).toMatchObject({ status: 405, headers: { Allow: 'POST' } });
  });

  it('hmac: sign, then verify with the signer UUID (any registered pod may verify); tampering is 403', () => {
    const sign = call(v1(A, 'pod/hmac/sign'), { method: 'POST', body: 'content=hello%20world' });
    expect(sign.status).toBe(200);
    expect(sign.headers['Content-Type']).toBe(TEXT_TYPE);
    expect(sign.body).toBe(hmacSign(A.hmacKey, A.uuid, 'hello world'));
    const form = (content: string, uuid: string, sig: string): string => new URLSearchParams({ content, uuid, signature: sig }).toString();
    const verify = (body: string, by = B): ReturnType<typeof handleMds> => call(v1(by, 'pod/hmac/verify'), { method: 'POST', body });
    expect(verify(form('hello world', A.uuid, sign.body))).toMatchObject({ status: 200, headers: { 'Content-Type': TEXT_TYPE } });
    expect(verify(form('hello world!', A.uuid, sign.body)).status).toBe(403);
    expect(verify(form('hello world', B.uuid, sign.body)).status).toBe(403);
    expect(verify(form('hello world', '33333333-3333-4333-8333-333333333333', sign.body)).status).toBe(403);
    expect(verify(form('hello world', A.uuid, 'not base64!')).status).toBe(403);
    expect(verify('content=x').status).toBe(400);
    expect(call(v1(A, 'pod/hmac/sign'), { method: 'POST', body: '' }).status).toBe(400);
  });

  it('hmac signatures bind the pod: the same content signed by two pods differs', () => {
    expect(hmacSign(A.hmacKey, A.uuid, 'x')).not.toBe(hmacSign(B.hmacKey, B.uuid, 'x'));
    expect(hmacVerify(A.hmacKey, A.uuid, 'x', hmacSign(A.hmacKey, A.uuid, 'x'))).toBe(true);
  });
});
