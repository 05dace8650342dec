import { CapsuleError } from '../errors/capsule-error.js';
import { mdsRoot, runningService, type ServiceInfo } from '../mds/mds-store.js';

/**
 * `--mds-register`, checked before anything of the pod is created: a metadata service must run
 * (its service.json names a live process) and the pod must be on a network the service sees it
 * on (not none, not the host's, where addresses identify nobody).
 */
export function checkMdsRegister(dataDir: string, net: string | undefined, alive?: (pid: number) => boolean): ServiceInfo {
  // A service pid of our own data dir's service.json, so a stale file (service killed) is "not running".
  const service = runningService(mdsRoot(dataDir), alive);
  if (!service) {
    throw new CapsuleError('mds-not-running', "--mds-register: no metadata service is running; start 'capsule metadata-service' (or its systemd socket unit, docs/metadata-service.md) first");
  }
  const n = net ?? 'default';
  if (n === 'none' || n === 'host') {
    throw new CapsuleError('mds-net', `--mds-register: the pod must be on a CNI network the metadata service can see it on (--net=default), not --net=${n}`);
  }
  return service;
}
