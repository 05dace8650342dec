import fs from 'node:fs';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';
import type { NetInfo } from '../../stage0/pod/pod-status.js';

/** What the pod commands share: the root check, UUID arguments, rkt's JSON and network forms. */

/** rkt's gate for commands that change pods. */
export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new CapsuleError('not-root', 'cannot run as unprivileged user');
}

/** UUID operands, or the one in `--uuid-file` (trimmed); exactly one of the two. */
export function uuidArgs(args: readonly string[], uuidFile: string | undefined, many: boolean): string[] {
  if (uuidFile !== undefined) {
    if (args.length > 0) throw new UsageError('give either UUIDs or --uuid-file, not both');
    let text: string;
    try {
      text = fs.readFileSync(uuidFile, 'utf8');
    } catch (e) {
      throw new CapsuleError('uuid-file', `unable to read UUID from ${JSON.stringify(uuidFile)}`, { cause: e });
    }
    return [text.trim()];
  }
  if (args.length === 0) throw new UsageError(many ? 'missing UUID(s) (or --uuid-file)' : 'missing UUID (or --uuid-file)');
  if (!many && args.length > 1) throw new UsageError('only one UUID may be given');
  return [...args];
}

/** rkt's fmtNets: `name:ip4=A.B.C.D` joined by `, `. */
export function formatNets(nets: readonly NetInfo[]): string {
  return nets.map((n) => `${n.netName}:ip4=${n.ip}`).join(', ');
}

/** Go's time.Duration String(), which rkt prints: `30m0s`, `24h0m0s`, `1.5s`, `0s`. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let v = Math.abs(ms);
  const num = (x: number): string => String(Number(x.toFixed(6)));
  if (v < 1) return v * 1000 >= 1 ? `${sign}${num(v * 1000)}µs` : `${sign}${Math.round(v * 1e6)}ns`;
  if (v < 1000) return `${sign}${num(v)}ms`;
  const h = Math.floor(v / 3_600_000);
  v -= h * 3_600_000;
  const m = Math.floor(v / 60_000);
  v -= m * 60_000;
  return `${sign}${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${num(v / 1000)}s`;
}
