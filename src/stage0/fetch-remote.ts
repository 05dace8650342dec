import type { GlobalOptions } from '../config/global-options.js';
import { CapsuleError } from '../errors/capsule-error.js';
import { fetchRemoteImage, type RemotePolicy } from '../fetch/remote-fetch.js';
import { parseImageId } from '../spec/image-id.js';
import type { Dependency } from '../spec/image-manifest.js';
import { formatNameRef } from '../spec/image-ref.js';
import type { Platform } from '../spec/os-arch.js';
import { findByName, getImage } from '../store/image-index.js';
import type { Store } from '../store/store.js';
import { keystoreRoots, listTrustedKeys } from '../verify/keystore.js';
import { reportSigner, type FetchHooks, type Fetched } from './fetch-types.js';
import { RemoteSession } from './remote-session.js';

export { RemoteSession };

function trusted(g: GlobalOptions) {
  return () => listTrustedKeys(keystoreRoots(g.systemConfig, g.localConfig));
}

function fetched(store: Store, id: string): Fetched {
  const img = getImage(store.db, parseImageId(id));
  if (!img) throw new CapsuleError('image-not-found', `image ${id.slice(0, 39)}… vanished from the store`);
  return { id: img.id, manifest: img.manifest };
}

/** `https://…/x.aci` (signature at `…/x.aci.asc` or --signature FILE). */
export async function fetchUrl(store: Store, s: RemoteSession, url: string, signatureFile: string | undefined, policy: RemotePolicy, hooks: FetchHooks, platform?: Platform): Promise<Fetched> {
  const verify = !s.g.insecure.has('image');
  if (!verify) hooks.warn('image signature verification has been disabled');
  const r = await fetchRemoteImage(
    store,
    s.http,
    url,
    { policy, verify, trustedKeys: trusted(s.g), ...(signatureFile !== undefined ? { signatureFile } : {}), ...(platform ? { platform } : {}), fetchDependency: (dep) => fetchDependency(store, s, dep, hooks, []) },
    hooks,
  );
  reportSigner(hooks, r.result?.signer);
  return fetched(store, r.id);
}

/**
 * `name[:version][,label=value…]` through appc discovery (rkt's flow): keys for the name's prefix
 * are discovered and trusted first when none is trusted yet, then the image is fetched from the
 * first endpoint, and its manifest name and labels must be what was asked for. With `platform`
 * (an image to run, not a dependency) its os and arch labels must name the host.
 */
export async function fetchName(store: Store, s: RemoteSession, name: string, labels: Record<string, string>, policy: RemotePolicy, hooks: FetchHooks, stack: string[] = [], platform?: Platform): Promise<Fetched> {
  if (policy !== 'update' && store.exists) {
    const r = findByName(store.db, name, labels);
    if (r) {
      hooks.debug(`using image from local store for image name ${formatNameRef(name, labels)}`);
      return { id: r.id, manifest: r.manifest };
    }
  }
  if (policy === 'never') {
    throw new CapsuleError('image-not-found', `unable to fetch image from image name ${JSON.stringify(formatNameRef(name, labels))}: either image was not found in the store or store was disabled and fetching from remote yielded nothing or it was disabled`);
  }
  if (stack.includes(name)) throw new CapsuleError('dependency-cycle', `dependency cycle while fetching: ${[...stack, name].join(' -> ')}`);
  try {
    return await discoverAndFetch(store, s, name, labels, hooks, stack, platform);
  } catch (e) {
    // The image is there already (--pull-policy=update asked again): the next step is the store.
    const stored = store.exists ? findByName(store.db, name, labels) : undefined;
    if (stored === undefined) throw e;
    const ref = formatNameRef(name, labels);
    throw new CapsuleError(e instanceof CapsuleError ? e.code : 'fetch', `unable to fetch image from image name ${JSON.stringify(ref)}`, {
      cause: e,
      hint: `the store has ${ref} (${stored.id.slice(0, 19)}): --pull-policy=never uses it without asking the network`,
    });
  }
}

async function discoverAndFetch(store: Store, s: RemoteSession, name: string, labels: Record<string, string>, hooks: FetchHooks, stack: string[], platform: Platform | undefined): Promise<Fetched> {
  const { discoverEndpoints } = await import('../fetch/discovery.js');
  const verify = !s.g.insecure.has('image');
  if (verify) await ensureKeysFor(s, name, hooks);
  else hooks.warn('image signature verification has been disabled');
  hooks.debug(`searching for app image ${formatNameRef(name, labels)}`);
  const endpoints = await discoverEndpoints(s.http, name, labels, { allowHttp: s.g.insecure.has('http') });
  const ep = endpoints.aci[0];
  if (!ep) throw new CapsuleError('discovery', `discovery found no image endpoint for ${JSON.stringify(name)}`);
  const r = await fetchRemoteImage(
    store,
    s.http,
    ep.aci,
    {
      policy: 'update',
      verify,
      trustedKeys: trusted(s.g),
      signatureUrl: ep.asc,
      expectedName: name,
      expectedLabels: labels,
      ...(platform ? { platform } : {}),
      latest: labels.version === undefined,
      fetchDependency: (dep) => fetchDependency(store, s, dep, hooks, [...stack, name]),
    },
    hooks,
  );
  reportSigner(hooks, r.result?.signer);
  return fetched(store, r.id);
}

/** Dependencies named in a manifest are fetched the same way (a stored match is used as is). */
async function fetchDependency(store: Store, s: RemoteSession, dep: Dependency, hooks: FetchHooks, stack: string[]): Promise<void> {
  const labels = Object.fromEntries((dep.labels ?? []).map((l) => [l.name, l.value]));
  const got = await fetchName(store, s, dep.imageName, labels, 'new', hooks, stack);
  if (dep.imageID !== undefined && got.id !== dep.imageID) {
    throw new CapsuleError('dependency-mismatch', `dependency ${dep.imageName} was fetched as ${got.id.slice(0, 39)}…, but the manifest requires ${dep.imageID.slice(0, 39)}…`);
  }
}

async function ensureKeysFor(s: RemoteSession, name: string, hooks: FetchHooks): Promise<void> {
  // rkt: only keys for the name's prefix count as "already there" (discoverAndTrustKeys checks).
  const { discoverAndTrustKeys } = await import('../fetch/fetch-keys.js');
  await discoverAndTrustKeys(s.http, s.g, name, hooks);
}
