import { terminalSafe } from '../errors/terminal-text.js';
import path from 'node:path';
import type { GlobalOptions } from '../config/global-options.js';
import { CapsuleError } from '../errors/capsule-error.js';
import type { OciSignatureCheck } from '../oci/import-oci.js';
import type { WantedPlatform } from '../oci/platform.js';
import type { ImageSource } from '../oci/types.js';
import { getImage, touchImage } from '../store/image-index.js';
import type { Store } from '../store/store.js';
import type { FetchHooks, Fetched } from './fetch-types.js';
import type { LocalTransport } from './image-arg.js';
import type { PullPolicy } from './pull-policy.js';

/** How an OCI image is fetched: the platform to pick from an index and the pull policy. */
export interface OciFetchOptions {
  platform: WantedPlatform;
  policy: PullPolicy;
}

/**
 * The signature check every OCI image goes through before anything of it is indexed: OpenPGP
 * simple signing (src/oci/signing/, docs/signing-oci.md). Only `--insecure-options=image` skips
 * it, with rkt's warning.
 */
export function ociSignatureCheck(g: GlobalOptions, hooks: Pick<FetchHooks, 'warn' | 'debug'>): OciSignatureCheck | undefined {
  if (g.insecure.has('image')) {
    hooks.warn('image signature verification has been disabled');
    return undefined;
  }
  return async (ref, manifestDigest, manifest, source) => {
    const { verifyOciSignatures } = await import('../oci/signing/verify-oci-signatures.js');
    const v = await verifyOciSignatures({ g, debug: (m) => hooks.debug(m) }, ref, manifestDigest, manifest, source);
    return { signers: v.userIds.length > 0 ? v.userIds : [v.fingerprint] };
  };
}

/** The source string recorded for a local image (absolute path): what `new` and `update` look up. */
export function localSourceString(transport: LocalTransport, p: string, ref: string | undefined): string {
  return `${transport}:${path.resolve(p)}${ref !== undefined ? `:${ref}` : ''}`;
}

async function openLocal(transport: LocalTransport, p: string, ref: string | undefined): Promise<ImageSource> {
  const { openOciLayout, openOciArchive } = await import('../oci/layout-source.js');
  if (transport === 'oci') return openOciLayout(p, ref);
  if (transport === 'oci-archive') return openOciArchive(p, ref);
  const { DockerArchiveSource } = await import('../oci/docker-archive-source.js');
  return DockerArchiveSource.open(p, ref);
}

/**
 * An image in the store that was fetched from `source` for `platform` (pull policy `new` and
 * `never` use it without opening the source).
 */
export async function storedFromSource(store: Store, source: string, platform: WantedPlatform): Promise<Fetched | undefined> {
  if (!store.exists) return undefined;
  const { refsFromSource } = await import('../store/oci-index.js');
  const { formatPlatform } = await import('../oci/platform.js');
  const want = formatPlatform(platform);
  for (const r of refsFromSource(store.db, source)) {
    if (r.platform !== want) continue;
    const img = getImage(store.db, r.imageId);
    if (img) return { id: img.id, manifest: img.manifest };
  }
  return undefined;
}

/** Fetches an image from `source` into the store (policy `update` reuses it when the source still serves the same manifest). */
export async function importFromSource(store: Store, source: ImageSource, sourceString: string, o: OciFetchOptions, verify: OciSignatureCheck | undefined, hooks: FetchHooks): Promise<Fetched> {
  const { importOci } = await import('../oci/import-oci.js');
  const r = await importOci(store, source, {
    platform: o.platform,
    verify,
    sourceString,
    reuseUnchanged: o.policy === 'update',
    warn: (m) => hooks.warn(m),
    progress: (label, total) => hooks.progress(label, total),
  });
  if (r.unchanged) hooks.debug(`${source.description} is unchanged; using image ${r.id} from the store`);
  if (r.trust) hooks.info(`signature verified:\n${r.trust.signers.map((u) => `  ${terminalSafe(u)}`).join('\n')}`);
  const p = r.policy;
  const few = (xs: string[]): string => `${xs.slice(0, 3).map((x) => `/${x}`).join(', ')}${xs.length > 3 ? `, … (${xs.length} in all)` : ''}`;
  if (p && p.privilegeCleared.length > 0) hooks.warn(`${source.description}: setuid/setgid bits cleared on ${few(p.privilegeCleared)} (images may not grant privileges; see docs/oci.md)`);
  if (p && p.specialSkipped.length > 0) hooks.warn(`${source.description}: device nodes and FIFOs not created: ${few(p.specialSkipped)} (the runtime provides /dev)`);
  return { id: r.id, manifest: r.manifest };
}

/**
 * The stored image from the same source for the same platform, unless the pull policy is
 * `update`; with `never`, not having one is the error.
 */
async function storedByPolicy(store: Store, sourceString: string, o: OciFetchOptions, hooks: FetchHooks): Promise<Fetched | undefined> {
  if (o.policy === 'update') return undefined;
  const have = await storedFromSource(store, sourceString, o.platform);
  if (have) {
    hooks.debug(`using image from the store with hash ${have.id}`);
    touchImage(store.db, have.id, Date.now());
    return have;
  }
  if (o.policy === 'never') throw new CapsuleError('image-not-found', `unable to fetch image from ${sourceString}: not in the store and --pull-policy=never uses the store only`);
  return undefined;
}

/** Opens the source and imports from it; a failure names the source, keeping the cause's code. */
async function importOpened(store: Store, open: () => Promise<ImageSource>, sourceString: string, o: OciFetchOptions, verify: OciSignatureCheck | undefined, hooks: FetchHooks): Promise<Fetched> {
  let source: ImageSource;
  try {
    source = await open();
  } catch (e) {
    throw new CapsuleError(e instanceof CapsuleError ? e.code : 'fetch', `fetching image from ${sourceString}`, { cause: e });
  }
  try {
    return await importFromSource(store, source, sourceString, o, verify, hooks);
  } catch (e) {
    throw new CapsuleError(e instanceof CapsuleError ? e.code : 'fetch', `fetching image from ${source.description}`, { cause: e });
  } finally {
    await source.close();
  }
}

/** `oci:`, `oci-archive:` and `docker-archive:` arguments, by pull policy. */
export async function fetchLocalOci(store: Store, transport: LocalTransport, p: string, ref: string | undefined, o: OciFetchOptions, g: GlobalOptions, hooks: FetchHooks): Promise<Fetched> {
  const sourceString = localSourceString(transport, p, ref);
  const have = await storedByPolicy(store, sourceString, o, hooks);
  if (have) return have;
  // Refused before the source is even read when the image could not be trusted anyway.
  const verify = ociSignatureCheck(g, hooks);
  return importOpened(store, () => openLocal(transport, p, ref), sourceString, o, verify, hooks);
}

/**
 * `docker://[REGISTRY/]NAME[:TAG|@DIGEST]`: a name without a registry goes to docker.d's
 * `defaultRegistry` (Docker Hub unless set). Pull policy `new` uses what the store got from the
 * same reference for the same platform; `update` asks the registry and fetches only what changed.
 */
export async function fetchDockerOci(store: Store, arg: string, o: OciFetchOptions, g: GlobalOptions, hooks: FetchHooks): Promise<Fetched> {
  const [{ parseOciReference, formatReference }, { loadRegistryConfig }, { configDirs }] = await Promise.all([import('../oci/reference.js'), import('../oci/registry/registry-config.js'), import('../fetch/http-setup.js')]);
  const ref = parseOciReference(arg, loadRegistryConfig(configDirs(g)).defaultRegistry);
  const sourceString = `docker://${formatReference(ref)}`;
  const have = await storedByPolicy(store, sourceString, o, hooks);
  if (have) return have;
  const verify = ociSignatureCheck(g, hooks);
  const { openRegistrySource } = await import('../oci/registry/registry-source.js');
  return importOpened(store, () => openRegistrySource(ref, { g, debug: (m) => hooks.debug(m) }), sourceString, o, verify, hooks);
}
