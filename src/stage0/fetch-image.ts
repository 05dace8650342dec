import fs from 'node:fs';
import path from 'node:path';
import type { GlobalOptions } from '../config/global-options.js';
import { CapsuleError, errorChain, UsageError } from '../errors/capsule-error.js';
import { parseImageIdPrefix } from '../spec/image-id.js';
import { parseNameRef } from '../spec/image-ref.js';
import { hostOsArch } from '../spec/os-arch.js';
import { findByIdPrefix } from '../store/image-index.js';
import type { Store } from '../store/store.js';
import { classifyImageArg } from './image-arg.js';
import type { PullPolicy } from './pull-policy.js';
import type { WantedPlatform } from '../oci/platform.js';
import type { RemoteSession } from './fetch-remote.js';
import { reportSigner, type FetchHooks, type Fetched } from './fetch-types.js';

export type { FetchHooks, Fetched } from './fetch-types.js';

export interface FetchRequest {
  arg: string;
  signature?: string;
  /** For OCI images: the platform to choose from an index (`--platform`); the host's when undefined. */
  platform?: WantedPlatform;
}


const isRegularFile = (p: string): boolean => {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
};

/**
 * Resolves one image argument to an image in the store: IDs and names from the store, files
 * imported, URLs and names fetched. What is imported must be an image for this host (os and arch
 * labels); its dependencies need not be.
 */
export async function fetchImage(store: Store, req: FetchRequest, policy: PullPolicy, g: GlobalOptions, hooks: FetchHooks, remote: RemoteSession): Promise<Fetched> {
  const a = classifyImageArg(req.arg, isRegularFile);
  const noPlatform = (): void => {
    if (req.platform !== undefined) throw new UsageError(`--platform applies to OCI images (docker://, oci:, oci-archive:, docker-archive:), not to ${JSON.stringify(req.arg)}`);
  };
  switch (a.kind) {
    case 'id': {
      noPlatform();
      if (!store.exists) throw new CapsuleError('image-not-found', `no image IDs found matching ${JSON.stringify(req.arg)}`);
      const r = findByIdPrefix(store.db, parseImageIdPrefix(a.value));
      hooks.debug(`using image from the store with hash ${r.id}`);
      return { id: r.id, manifest: r.manifest };
    }
    case 'file':
      noPlatform();
      if (policy === 'never') throw new CapsuleError('pull-policy', `unable to fetch image from file ${JSON.stringify(a.path)}: --pull-policy=never uses the store only`);
      return fetchFile(store, path.resolve(a.path), req.signature, g, hooks);
    case 'oci-local': {
      if (req.signature !== undefined) throw new CapsuleError('usage', `--signature does not apply to ${a.transport}: images (OCI images carry simple signing signatures)`);
      const [{ fetchLocalOci }, { hostPlatform }] = await Promise.all([import('./fetch-oci.js'), import('../oci/platform.js')]);
      return fetchLocalOci(store, a.transport, a.path, a.ref, { platform: req.platform ?? hostPlatform(), policy }, g, hooks);
    }
    case 'name': {
      // An OCI image stored under this name (`registry/repo:tag`) when no appc image has it.
      if (store.exists && policy !== 'update') {
        const { findOciByName } = await import('../oci/stored-image.js');
        const { findByName } = await import('../store/image-index.js');
        const oci = findOciByName(store.db, a.value);
        let aci;
        try {
          const r = parseNameRef(a.value);
          aci = findByName(store.db, r.name, r.labels);
        } catch {
          aci = undefined;
        }
        if (oci && !aci) {
          hooks.debug(`using image from local store for image name ${a.value}`);
          return { id: oci.image.id, manifest: oci.image.manifest };
        }
      }
      noPlatform();
      const ref = parseNameRef(a.value);
      const { fetchName } = await import('./fetch-remote.js');
      return fetchName(store, remote, ref.name, ref.labels, policy, hooks, [], hostOsArch());
    }
    case 'url': {
      noPlatform();
      const { fetchUrl } = await import('./fetch-remote.js');
      return fetchUrl(store, remote, a.url, req.signature, policy, hooks, hostOsArch());
    }
    case 'docker': {
      if (req.signature !== undefined) throw new CapsuleError('usage', `--signature does not apply to docker:// images (OCI images carry simple signing signatures; see docs/signing-oci.md)`);
      const [{ fetchDockerOci }, { hostPlatform }] = await Promise.all([import('./fetch-oci.js'), import('../oci/platform.js')]);
      return fetchDockerOci(store, a.ref, { platform: req.platform ?? hostPlatform(), policy }, g, hooks);
    }
  }
}

async function fetchFile(store: Store, file: string, signature: string | undefined, g: GlobalOptions, hooks: FetchHooks): Promise<Fetched> {
  let size: number;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new CapsuleError('not-a-file', `${JSON.stringify(file)} is not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof CapsuleError) throw e;
    throw new CapsuleError('image-file', `unable to open image file ${JSON.stringify(file)}`, { cause: e });
  }
  hooks.debug(`using image from file ${file}`);
  // Archive, OpenPGP and keystore code load only when a file is really imported.
  const [{ importAci }, { keystoreRoots, listTrustedKeys }, { readSignatureFile }] = await Promise.all([import('../fetch/import-aci.js'), import('../verify/keystore.js'), import('../verify/signature-file.js')]);
  let armored: string | undefined;
  if (g.insecure.has('image')) {
    hooks.warn('image signature verification has been disabled');
  } else {
    armored = readSignatureFile(signature ?? `${file}.asc`);
  }
  const bar = hooks.progress('ACI', size);
  const stream = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
  try {
    const r = await importAci(
      store,
      { data: stream as AsyncIterable<Buffer>, signature: armored, label: file, size },
      { trustedKeys: armored === undefined ? [] : listTrustedKeys(keystoreRoots(g.systemConfig, g.localConfig)), onRawBytes: (n) => bar.add(n), platform: hostOsArch() },
    );
    reportSigner(hooks, r.signer);
    return { id: r.id, manifest: r.manifest };
  } catch (e) {
    // The signer is checked before the manifest is read: the name to trust comes from the file.
    let hint: string | undefined;
    const { UntrustedSigner, trustHint } = await import('../verify/signature.js');
    if (errorChain(e).some((c) => c instanceof UntrustedSigner)) {
      const { claimedAciName } = await import('../fetch/aci-file-name.js');
      const name = await claimedAciName(file);
      if (name !== null) hint = trustHint(name);
    }
    throw new CapsuleError(e instanceof CapsuleError ? e.code : 'fetch', `fetching image from file ${JSON.stringify(file)}`, { cause: e, ...(hint !== undefined ? { hint } : {}) });
  } finally {
    bar.done();
    stream.destroy();
  }
}
