import fs from 'node:fs';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';
import type { NetInfo, PodStatus } from '../../stage0/pod/pod-status.js';
import { isAfterRun } from '../../stage0/pod/pod-state.js';

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

const ns = (ms: number): number => Math.round(ms * 1e6);

/** rkt's `lib.Pod` JSON (list and status `--format json`): times in nanoseconds, empty fields left out. */
export function podJson(st: PodStatus): Record<string, unknown> {
  const after = isAfterRun(st.state);
  const apps = st.apps.map((a) => {
    let state = st.state === 'prepared' || st.state === 'preparing' || st.state === 'running' ? 'created' : 'unknown';
    let finished = a.finishedAt;
    if (a.startedAt !== null) state = 'running';
    if (a.exitCode !== null) state = 'exited';
    if (after && state !== 'exited') {
      // Killed hard: no status file, but it is not running any more.
      state = 'exited';
      finished = st.gcMarked;
    }
    return {
      name: a.name,
      state,
      ...(st.created !== null && state !== 'unknown' ? { created_at: ns(st.created) } : {}),
      ...(a.startedAt !== null ? { started_at: ns(a.startedAt) } : {}),
      ...(finished !== null ? { finished_at: ns(finished) } : {}),
      ...(a.exitCode !== null ? { exit_code: a.exitCode } : {}),
      image_id: a.imageId,
    };
  });
  const m = st.manifest;
  return {
    name: st.uuid,
    state: st.state,
    ...(st.networks.length > 0 ? { networks: st.networks } : {}),
    ...(apps.length > 0 ? { app_names: apps.map((a) => a.name), apps } : {}),
    ...(st.created !== null ? { created_at: ns(st.created) } : {}),
    ...(st.started !== null ? { started_at: ns(st.started) } : {}),
    ...(m && Object.keys(m.userAnnotations).length > 0 ? { user_annotations: m.userAnnotations } : {}),
    ...(m && Object.keys(m.userLabels).length > 0 ? { user_labels: m.userLabels } : {}),
  };
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
