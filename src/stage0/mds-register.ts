import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';
import { newHmacKey, newToken } from '../mds/mds-hmac.js';
import type { MdsApp, MdsRegistration } from '../mds/mds-registration.js';
import { mdsRoot, readRegistration, saveRegistration, type ServiceInfo } from '../mds/mds-store.js';
import { POD_FILES, type AppRuntime } from '../stage1/contract.js';
import type { PodImage } from './pod-images.js';

/** What stage1 needs to give the apps AC_METADATA_URL (the host side of the pod's first net + this). */
export interface MdsPodConfig {
  port: number;
  token: string;
}

/**
 * Registers a pod (its reified manifest, as written to its `pod` file) whose lock we hold,
 * so gc cannot remove it meanwhile and removes the registration with it. Its addresses are added
 * by recordMdsAddresses once stage1 has put it on its networks, before any app starts.
 */
export function registerPod(dataDir: string, service: ServiceInfo, uuid: string, manifest: unknown, apps: readonly AppRuntime[], images: readonly PodImage[]): MdsPodConfig {
  const podManifest = JSON.parse(JSON.stringify(manifest)) as Record<string, unknown>;
  const mdsApps: Record<string, MdsApp> = {};
  for (const a of apps) {
    const img = images.find((i) => i.id === a.image.id);
    mdsApps[a.name] = { imageId: a.image.id, imageManifest: (img ? JSON.parse(JSON.stringify(img.manifest)) : {}) as Record<string, unknown> };
  }
  const reg: MdsRegistration = { uuid, token: newToken(), hmacKey: newHmacKey(), addresses: [], podManifest, apps: mdsApps };
  try {
    saveRegistration(mdsRoot(dataDir), reg);
  } catch (e) {
    throw new CapsuleError('mds-register', `--mds-register: writing the registration of pod "${uuid}"`, { cause: e });
  }
  return { port: service.port, token: reg.token };
}

/** Adds the pod's addresses (net-info.json, written by stage1's network setup) to its registration. */
export function recordMdsAddresses(dataDir: string, uuid: string, podDir: string): void {
  const root = mdsRoot(dataDir);
  const reg = readRegistration(root, uuid);
  if (!reg) throw new CapsuleError('mds-register', `--mds-register: pod "${uuid}" has no registration`);
  let nets: Array<{ ip?: unknown }> = [];
  try {
    nets = JSON.parse(fs.readFileSync(path.join(podDir, POD_FILES.netInfo), 'utf8')) as Array<{ ip?: unknown }>;
  } catch (e) {
    throw new CapsuleError('mds-register', `--mds-register: reading the addresses of pod "${uuid}"`, { cause: e });
  }
  const addresses = nets.map((n) => n.ip).filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  if (addresses.length === 0) throw new CapsuleError('mds-register', `--mds-register: pod "${uuid}" got no address on its networks`);
  saveRegistration(root, { ...reg, addresses });
}
