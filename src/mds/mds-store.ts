import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TOKEN_RE, UUID_RE, type MdsLookup, type MdsRegistration } from './mds-registration.js';

/**
 * Registrations on disk, so that a restart of the service loses nothing:
 *   ROOT/pods/<uuid>.json   the registration (0600; it holds the pod's HMAC key)
 *   ROOT/tokens/<token>     the UUID of the pod the token belongs to
 *   ROOT/service.json       the running service: pid and port (written by the service)
 * ROOT (normally <data dir>/mds) is 0700 and root's: apps never see it.
 */
export const mdsRoot = (dataDir: string): string => path.join(dataDir, 'mds');
const podFile = (root: string, uuid: string): string => path.join(root, 'pods', `${uuid}.json`);
const tokenFile = (root: string, token: string): string => path.join(root, 'tokens', token);
export const serviceFile = (root: string): string => path.join(root, 'service.json');

function ensureDirs(root: string): void {
  for (const d of [root, path.join(root, 'pods'), path.join(root, 'tokens')]) {
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    fs.chmodSync(d, 0o700);
  }
}

/** Writes a file whole or not at all (temp file beside it, then rename). */
export function writeAtomic(file: string, data: string, mode = 0o600): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`);
  fs.writeFileSync(tmp, data, { mode, flag: 'wx' });
  fs.renameSync(tmp, file);
}

/** Stores a registration; the token file last, so a found token always has its pod. */
export function saveRegistration(root: string, reg: MdsRegistration): void {
  if (!UUID_RE.test(reg.uuid) || !TOKEN_RE.test(reg.token)) throw new Error('invalid registration uuid or token');
  ensureDirs(root);
  writeAtomic(podFile(root, reg.uuid), JSON.stringify(reg));
  writeAtomic(tokenFile(root, reg.token), reg.uuid);
}

/** Removes the pod's registration and its token; nothing to do when it has none. */
export function removeRegistration(root: string, uuid: string): boolean {
  if (!UUID_RE.test(uuid)) return false;
  const reg = readRegistration(root, uuid);
  if (reg) fs.rmSync(tokenFile(root, reg.token), { force: true });
  const had = fs.existsSync(podFile(root, uuid));
  fs.rmSync(podFile(root, uuid), { force: true });
  return had || reg !== null;
}

export function readRegistration(root: string, uuid: string): MdsRegistration | null {
  if (!UUID_RE.test(uuid)) return null;
  try {
    const v = JSON.parse(fs.readFileSync(podFile(root, uuid), 'utf8')) as MdsRegistration;
    return v.uuid === uuid ? v : null;
  } catch {
    return null;
  }
}

/** The service's view of ROOT: every answer read from disk, so registrations made meanwhile count. */
export function diskLookup(root: string): MdsLookup {
  return {
    byUuid: (uuid) => readRegistration(root, uuid),
    byToken(token) {
      if (!TOKEN_RE.test(token)) return null;
      let uuid: string;
      try {
        uuid = fs.readFileSync(tokenFile(root, token), 'utf8').trim();
      } catch {
        return null;
      }
      const reg = readRegistration(root, uuid);
      return reg && reg.token === token ? reg : null;
    },
  };
}

export interface ServiceInfo {
  pid: number;
  port: number;
}

/** The running service as its service.json says, or null when none runs (no file, or its pid is gone). */
export function runningService(root: string, alive: (pid: number) => boolean = pidAlive): ServiceInfo | null {
  try {
    const v = JSON.parse(fs.readFileSync(serviceFile(root), 'utf8')) as Partial<ServiceInfo>;
    if (typeof v.pid !== 'number' || typeof v.port !== 'number') return null;
    return alive(v.pid) ? { pid: v.pid, port: v.port } : null;
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function writeServiceInfo(root: string, info: ServiceInfo): void {
  ensureDirs(root);
  writeAtomic(serviceFile(root), JSON.stringify(info), 0o644);
}
