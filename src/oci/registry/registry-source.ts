import type { GlobalOptions } from '../../config/global-options.js';
import { loadAuth, type AuthConfig } from '../../config/auth.js';
import { CapsuleError } from '../../errors/capsule-error.js';
import { readSmallBody, type HttpClient, type HttpResponse } from '../../fetch/http-client.js';
import { configDirs, makeHttpClient } from '../../fetch/http-setup.js';
import { DOCKER_HUB, DOCKER_HUB_API, type OciReference } from '../reference.js';
import { MANIFEST_ACCEPT, MEDIA, type Descriptor, type ImageSource, type RawManifest, type Sha256Digest } from '../types.js';
import { RegistryAuth } from './registry-auth.js';
import { loadRegistryConfig } from './registry-config.js';
import { MAX_ERROR_BODY, registryErrorText } from './registry-errors.js';
import { parseSignatureList, MAX_SIGNATURE_LIST } from './registry-signatures.js';
import { skipBytes } from './skip-bytes.js';

export interface RegistrySourceOptions {
  g: GlobalOptions;
  /** `--debug` lines (which endpoint answered, mirrors tried). */
  debug?: (msg: string) => void;
  /** A client to share; by default one is made (auth.d `auth` headers off: registries use dockerAuth). */
  http?: HttpClient;
  now?: () => number;
}

/** One host that serves the repository: a mirror or the registry's own API host. */
interface Endpoint {
  host: string;
  base: string;
  auth: RegistryAuth;
  /** The ping said `X-Registry-Supports-Signatures: 1` (the signature extension of OpenShift's registry and containers/image). */
  signatures: boolean;
}

/** The host the v2 API of a registry is on (Docker Hub's is not docker.io). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** `docker://registry/repository:tag@digest`, as messages show it. */
export function describeDocker(ref: OciReference): string {
  return `docker://${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

const mediaTypeOf = (h: Record<string, string>): string => (h['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

/**
 * A Docker Registry HTTP API v2 source for one repository (distribution's pull protocol): the
 * `/v2/` ping learns the authentication the registry wants; manifests by tag or digest with
 * MANIFEST_ACCEPT; blobs with `Range` for resuming. Mirrors from docker.d are tried in order
 * before the registry; the first endpoint that serves the first manifest serves the whole pull.
 * Plain http only with --insecure-options=http (after https failed), any certificate only with
 * `tls` (the client's rules). Nothing here is trusted: the importer checks every digest and size.
 */
export async function openRegistrySource(ref: OciReference, o: RegistrySourceOptions): Promise<ImageSource> {
  const dirs = configDirs(o.g);
  const config = loadRegistryConfig(dirs);
  const auth = loadAuth(dirs);
  const own = o.http === undefined;
  const http = o.http ?? makeHttpClient(o.g, { authDHeaders: false });
  const src = new RegistrySource(ref, http, own, auth, [...(config.mirrors.get(ref.registry) ?? []), apiHost(ref.registry)], o);
  try {
    await src.ping();
  } catch (e) {
    await src.close();
    throw e;
  }
  return src;
}

class RegistrySource implements ImageSource {
  readonly description: string;
  readonly canResume = true;
  private endpoints: Endpoint[] = [];
  private pinned: Endpoint | undefined;
  private readonly now: () => number;

  constructor(
    readonly ref: OciReference,
    private readonly http: HttpClient,
    private readonly ownHttp: boolean,
    private readonly authConfig: AuthConfig,
    private readonly hosts: string[],
    private readonly o: RegistrySourceOptions,
  ) {
    this.description = describeDocker(ref);
    this.now = o.now ?? Date.now;
  }

  private where(ep: Endpoint | undefined): string {
    const via = ep && ep.host !== apiHost(this.ref.registry) ? ` (mirror ${ep.host})` : '';
    return `registry ${this.ref.registry}${via}, repository ${this.ref.repository}`;
  }

  private credentialsFor(host: string) {
    const direct = this.authConfig.dockerCredentials(host);
    if (direct) return direct;
    // The registry's own name (docker.io for Docker Hub), never for a mirror.
    return host === apiHost(this.ref.registry) ? this.authConfig.dockerCredentials(this.ref.registry) : undefined;
  }

  /** Pings every candidate endpoint in order; the ones that answer as registries stay candidates. */
  async ping(): Promise<void> {
    let last: unknown;
    for (const host of this.hosts) {
      try {
        this.endpoints.push(await this.pingHost(host));
      } catch (e) {
        last = e;
        if (host !== this.hosts[this.hosts.length - 1]) this.o.debug?.(`registry mirror ${host} does not answer (${(e as Error).message}); trying the next`);
      }
    }
    if (this.endpoints.length === 0) throw last instanceof Error ? last : new CapsuleError('registry', `${this.where(undefined)}: no endpoint answered`);
  }

  private async pingHost(host: string): Promise<Endpoint> {
    const what = `${this.ref.registry}/${this.ref.repository}`;
    const ep = (base: string): Endpoint => ({ host, base, signatures: false, auth: new RegistryAuth(this.http, { repository: this.ref.repository, credentials: this.credentialsFor(host), what, now: this.now }) });
    let res: HttpResponse;
    let e: Endpoint = ep(`https://${host}`);
    try {
      res = await this.http.get(`${e.base}/v2/`);
    } catch (err) {
      if (!this.o.g.insecure.has('http')) {
        const proto = /EPROTO|ECONNRESET/.test(String((rootCause(err) as NodeJS.ErrnoException).code ?? ''));
        throw new CapsuleError('registry', `${this.where(e)}: pinging https://${host}/v2/`, { cause: err, ...(proto ? { hint: 'if the registry speaks plain http, pass --insecure-options=http' } : {}) });
      }
      this.o.debug?.(`https://${host}/v2/ failed (${(err as Error).message}); trying plain http (--insecure-options=http)`);
      e = ep(`http://${host}`);
      try {
        res = await this.http.get(`${e.base}/v2/`);
      } catch (err2) {
        throw new CapsuleError('registry', `${this.where(e)}: pinging ${host} over https and http`, { cause: err2 });
      }
    }
    e.signatures = res.headers['x-registry-supports-signatures'] === '1';
    if (res.status === 401) {
      await res.dump();
      await e.auth.learn(res.headers['www-authenticate']);
    } else if (res.status < 200 || res.status > 299) {
      throw await this.failure(e, res, `pinging ${e.base}/v2/`);
    } else await res.dump();
    return e;
  }

  /** One line from an error answer: the registry's own errors[] text when it sent some. */
  private async failure(ep: Endpoint, res: HttpResponse, doing: string): Promise<CapsuleError> {
    let text: string | undefined;
    try {
      text = registryErrorText(await readSmallBody(res, MAX_ERROR_BODY, 'error answer'));
    } catch {
      text = undefined;
    }
    const code = res.status === 401 || res.status === 403 ? 'registry-auth' : res.status === 404 ? 'image-not-found' : 'registry';
    const why = text ?? (res.status === 401 ? 'access denied' : `HTTP ${res.status}`);
    return new CapsuleError(code, `${this.where(ep)}: ${doing}: ${why}${text !== undefined ? ` (HTTP ${res.status})` : ''}`);
  }

  /** GET with the endpoint's authentication; a 401 learns or renews it and retries once. Resolves only with a 2xx answer. */
  private async request(ep: Endpoint, p: string, headers: Record<string, string>, doing: string): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      const credentials = await ep.auth.headers();
      let res: HttpResponse;
      try {
        res = await this.http.get(`${ep.base}${p}`, { headers, credentials });
      } catch (e) {
        throw new CapsuleError('registry', `${this.where(ep)}: ${doing}`, { cause: e });
      }
      // Only the registry's own 401 is a challenge: one from a host a redirect led to (object
      // storage) must not send the registry's credentials to a realm that host names.
      if (res.status === 401 && new URL(res.url).host === new URL(ep.base).host && (await ep.auth.unauthorized(res.headers['www-authenticate'], attempt))) {
        await res.dump();
        continue;
      }
      if (res.status >= 200 && res.status <= 299) return res;
      throw await this.failure(ep, res, doing);
    }
  }

  async getManifest(digest: Sha256Digest | undefined, maxBytes: number): Promise<RawManifest> {
    const reference = digest ?? this.ref.digest ?? this.ref.tag ?? 'latest';
    const doing = `getting manifest ${reference}`;
    const candidates = this.pinned ? [this.pinned] : this.endpoints;
    let last: unknown;
    for (const ep of candidates) {
      try {
        const res = await this.request(ep, `/v2/${this.ref.repository}/manifests/${reference}`, { accept: MANIFEST_ACCEPT.join(', ') }, doing);
        const mediaType = mediaTypeOf(res.headers);
        if (mediaType === MEDIA.dockerSchema1 || mediaType === MEDIA.dockerSchema1Signed) {
          await res.dump();
          throw new CapsuleError('unsupported-manifest', `${this.where(ep)}: ${reference} is a Docker schema 1 manifest (${mediaType}), which Capsule does not support`, {
            hint: 'push the image again with a current docker, podman or skopeo (schema 2 or OCI)',
          });
        }
        let bytes: Buffer;
        try {
          bytes = await readSmallBody(res, maxBytes, `manifest ${reference}`);
        } catch (e) {
          throw new CapsuleError('manifest-too-large', `${this.where(ep)}: ${doing}`, { cause: e });
        }
        if (!this.pinned && ep.host !== apiHost(this.ref.registry)) this.o.debug?.(`pulling ${this.description} from mirror ${ep.host}`);
        this.pinned = ep;
        return { bytes, mediaType };
      } catch (e) {
        last = e;
        if (this.pinned || ep === candidates[candidates.length - 1]) break;
        this.o.debug?.(`mirror ${ep.host}: ${(e as Error).message}; trying the next`);
      }
    }
    throw last as Error;
  }

  async getBlob(desc: Descriptor, offset: number): Promise<AsyncIterable<Buffer>> {
    const ep = this.pinned ?? this.endpoints[this.endpoints.length - 1]!;
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    const doing = `getting blob ${desc.digest}${offset > 0 ? ` from byte ${offset}` : ''}`;
    const res = await this.request(ep, `/v2/${this.ref.repository}/blobs/${desc.digest}`, headers, doing);
    if (offset === 0) return res.body;
    if (res.status === 206) {
      const start = /^bytes (\d+)-/.exec(res.headers['content-range'] ?? '')?.[1];
      if (start === undefined || Number(start) !== offset) {
        await res.dump();
        throw new CapsuleError('registry', `${this.where(ep)}: ${doing}: the answer's Content-Range ${JSON.stringify(res.headers['content-range'] ?? '')} does not start at byte ${offset}`);
      }
      return res.body;
    }
    // 200: the server (or a CDN in between) ignored Range; the bytes before offset are skipped.
    return skipBytes(res.body, offset);
  }

  async getSignatures(manifestDigest: Sha256Digest): Promise<Buffer[]> {
    const ep = this.pinned ?? this.endpoints[this.endpoints.length - 1]!;
    if (!ep.signatures) return [];
    let res: HttpResponse;
    try {
      res = await this.request(ep, `/extensions/v2/${this.ref.repository}/signatures/${manifestDigest}`, { accept: 'application/json' }, `getting the signatures of ${manifestDigest}`);
    } catch (e) {
      if (e instanceof CapsuleError && e.code === 'image-not-found') return [];
      throw e;
    }
    const body = await readSmallBody(res, MAX_SIGNATURE_LIST, 'signature list');
    try {
      return parseSignatureList(body);
    } catch (e) {
      throw new CapsuleError('signature', `${this.where(ep)}: the registry's signature list for ${manifestDigest}`, { cause: e });
    }
  }

  async close(): Promise<void> {
    if (this.ownHttp) await this.http.close();
  }
}

function rootCause(e: unknown): unknown {
  let c = e;
  while (c instanceof Error && c.cause !== undefined) c = c.cause;
  return c;
}
