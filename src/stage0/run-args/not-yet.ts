import { UsageError } from '../../errors/capsule-error.js';
import type { PodFlags } from './run-spec.js';

/**
 * Flags the parser reads but nothing applies yet, refused instead of ignored (exit 254).
 * Port forwarding, DNS and hosts entries come with CNI networking (issue 10, src/net/): when it
 * lands, its flags leave this list. `podManifestPorts` is the length of a `--pod-manifest`'s
 * `ports`, which would be forwarded by the same code.
 */
export function refuseNotYet(pod: PodFlags, podManifestPorts = 0): void {
  const networking: Array<[string, boolean]> = [
    ['--port', pod.ports.length > 0],
    ['--dns', pod.dns.length > 0],
    ['--dns-search', pod.dnsSearch.length > 0],
    ['--dns-opt', pod.dnsOpt.length > 0],
    ['--dns-domain', pod.dnsDomain !== undefined],
    ['--hosts-entry', pod.hostsEntries.length > 0],
    ['a pod manifest with ports', podManifestPorts > 0],
  ];
  const given = networking.find(([, on]) => on);
  if (given) {
    throw new UsageError(
      `${given[0]}: not yet: networking (port forwarding, DNS and hosts entries come with CNI networking)`,
      "for now use --net=host, the host's network with its resolv.conf and hosts, or --net=none, loopback only",
    );
  }
}
