import { hmacSign, hmacVerify } from './mds-hmac.js';
import { TOKEN_RE, UUID_RE, type MdsLookup, type MdsRegistration } from './mds-registration.js';

/** One request as the routes need it (the server fills it in; tests make them by hand). */
export interface MdsRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body (form posts), already read and bounded by the server. */
  body: string;
  /** The TCP peer's address (IPv4-mapped IPv6 already unwrapped). */
  remoteAddress: string;
}

export interface MdsResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const JSON_TYPE = 'application/json';
/** The spec's exact Content-Type for uuid, image id, sign and verify (and our error texts). */
export const TEXT_TYPE = 'text/plain; charset=us-ascii';
export const PREFIX = 'acMetadata/v1';
/** Form bodies larger than this are refused (413): contents to sign are small. */
export const MAX_BODY = 64 * 1024;

const text = (status: number, body: string, extra: Record<string, string> = {}): MdsResponse => ({ status, headers: { 'Content-Type': TEXT_TYPE, ...extra }, body });
const json = (v: unknown): MdsResponse => ({ status: 200, headers: { 'Content-Type': JSON_TYPE }, body: JSON.stringify(v) });
const notFound = (what: string): MdsResponse => text(404, `${what} not found\n`);

type Annotation = { name: string; value: string };
const annotationList = (v: unknown): Annotation[] =>
  Array.isArray(v) ? v.filter((a): a is Annotation => typeof a === 'object' && a !== null && typeof (a as Annotation).name === 'string' && typeof (a as Annotation).value === 'string') : [];

/** Image annotations, then the pod manifest's app annotations over them (pod values win). */
export function mergedAppAnnotations(reg: MdsRegistration, app: string): Annotation[] {
  const out = new Map<string, string>();
  for (const a of annotationList(reg.apps[app]?.imageManifest.annotations)) out.set(a.name, a.value);
  const apps = Array.isArray(reg.podManifest.apps) ? (reg.podManifest.apps as Array<Record<string, unknown>>) : [];
  for (const a of annotationList(apps.find((x) => x.name === app)?.annotations)) out.set(a.name, a.value);
  return [...out].map(([name, value]) => ({ name, value }));
}

const header = (h: MdsRequest['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * The caller's pod: by the token in the path (AC_METADATA_URL's), and the request must come from
 * one of that pod's addresses when its registration lists them (a token copied out of the pod is
 * of no use elsewhere). An address alone identifies nobody: host-local IPAM gives an exited pod's
 * address to the next pod before gc removes the old registration. Nothing the caller says about
 * itself (UUIDs, app names, headers) identifies it.
 */
function identify(segments: string[], req: MdsRequest, lookup: MdsLookup): { reg: MdsRegistration | null; rest: string[] } {
  const [first = '', ...rest] = segments;
  if (first === 'acMetadata') return { reg: null, rest: segments };
  const reg = TOKEN_RE.test(first) ? lookup.byToken(first) : null;
  if (reg && reg.addresses.length > 0 && !reg.addresses.includes(req.remoteAddress)) return { reg: null, rest };
  return { reg, rest };
}

/** The whole metadata API. Pure but for `lookup`. */
export function handleMds(req: MdsRequest, lookup: MdsLookup): MdsResponse {
  const pathname = req.url.split('?')[0] ?? '';
  const segments = pathname.split('/').filter((s) => s !== '');
  if (header(req.headers, 'metadata-flavor') !== 'AppContainer') return text(400, 'the Metadata-Flavor: AppContainer header is required\n');
  const { reg, rest } = identify(segments, req, lookup);
  if (rest.slice(0, 2).join('/') !== PREFIX) return notFound('path');
  if (!reg) return text(403, 'not a pod registered with the metadata service\n');
  const route = rest.slice(2);
  const key = route.join('/');
  const get = (r: () => MdsResponse): MdsResponse => (req.method === 'GET' || req.method === 'HEAD' ? r() : text(405, 'method not allowed\n', { Allow: 'GET, HEAD' }));
  const post = (r: () => MdsResponse): MdsResponse => (req.method === 'POST' ? r() : text(405, 'method not allowed\n', { Allow: 'POST' }));
  switch (key) {
    case 'pod/manifest':
      return get(() => json(reg.podManifest));
    case 'pod/uuid':
      return get(() => text(200, reg.uuid));
    case 'pod/annotations':
      return get(() => json(annotationList(reg.podManifest.annotations)));
    case 'pod/hmac/sign':
      return post(() => {
        const content = new URLSearchParams(req.body).get('content');
        if (content === null || content === '') return text(400, 'the form field content is missing\n');
        return text(200, hmacSign(reg.hmacKey, reg.uuid, content));
      });
    case 'pod/hmac/verify':
      return post(() => {
        const form = new URLSearchParams(req.body);
        const content = form.get('content');
        const uuid = form.get('uuid');
        const signature = form.get('signature');
        if (content === null || content === '' || uuid === null || signature === null || signature === '') return text(400, 'the form fields content, uuid and signature are required\n');
        if (!UUID_RE.test(uuid)) return text(400, 'uuid is not a pod UUID\n');
        const signer = lookup.byUuid(uuid);
        const ok = signer !== null && hmacVerify(signer.hmacKey, signer.uuid, content, signature);
        return ok ? text(200, 'OK\n') : text(403, 'signature check failed\n');
      });
  }
  if (route[0] === 'apps' && route.length >= 3) {
    let name: string;
    try {
      name = decodeURIComponent(route[1] ?? '');
    } catch {
      return notFound('path');
    }
    const app = Object.hasOwn(reg.apps, name) ? reg.apps[name] : undefined;
    const what = route.slice(2).join('/');
    if (!app) return ['annotations', 'image/manifest', 'image/id'].includes(what) ? notFound(`app ${JSON.stringify(name)}`) : notFound('path');
    if (what === 'annotations') return get(() => json(mergedAppAnnotations(reg, name)));
    if (what === 'image/manifest') return get(() => json(app.imageManifest));
    if (what === 'image/id') return get(() => text(200, app.imageId));
  }
  return notFound('path');
}
