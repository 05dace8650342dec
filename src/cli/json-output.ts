import type { AppStatus, NetInfo, PodStatus } from '../stage0/pod/pod-status.js';
import { isAfterRun } from '../stage0/pod/pod-state.js';
import { shortImageId, type ImageId } from '../spec/image-id.js';

/**
 * The one `--format json` shape of every listing (test/schemas/capsule-json.schema.json):
 * snake_case keys, times as RFC 3339 strings in UTC with the precision the file system gave
 * (microseconds when there are any), image IDs as the store key (`sha512-` + 64 hex, or an OCI
 * `sha256:` digest) and image names with their version, as the tables show them. Every key is
 * always there: null when not known (yet).
 */

/** RFC 3339 in UTC: `2026-12-06T07:24:44.123456Z` (milliseconds, plus microseconds when `ms` has them). */
export function rfc3339(ms: number): string {
  // Whole microseconds first: a float mtimeMs reads 122.9998 for 123.
  const us = Math.round(ms * 1000);
  const iso = new Date(Math.floor(us / 1000)).toISOString(); // …:SS.mmmZ
  const micro = ((us % 1000) + 1000) % 1000;
  return micro === 0 ? iso : `${iso.slice(0, -1)}${String(micro).padStart(3, '0')}Z`;
}

const time = (ms: number | null): string | null => (ms === null ? null : rfc3339(ms));

/** The one length of image IDs in JSON (as `image list --full` and `image rm` print them). */
export function jsonImageId(id: string): string | null {
  return id === '' ? null : shortImageId(id as ImageId, 64);
}

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A network as stage1 recorded it, its keys in snake_case (`netName` → `net_name`). */
export function networkJson(n: NetInfo): Record<string, unknown> {
  return Object.fromEntries(Object.entries(n).map(([k, v]) => [snake(k), v]));
}

function appState(st: PodStatus, a: AppStatus): string {
  if (a.exitCode !== null || isAfterRun(st.state)) return 'exited';
  if (a.startedAt !== null) return 'running';
  return st.state === 'prepared' || st.state === 'preparing' || st.state === 'running' ? 'created' : 'unknown';
}

/** A pod, the same in `list` (an array of these) and `status`. */
export function podJson(st: PodStatus): Record<string, unknown> {
  const apps = st.apps.map((a) => {
    const state = appState(st, a);
    // Killed hard: no status file, but it is not running any more (gc's mark time is the best end).
    const finished = a.finishedAt ?? (state === 'exited' && a.exitCode === null ? st.gcMarked : null);
    return {
      name: a.name,
      state,
      image_id: jsonImageId(a.imageId),
      image_name: a.imageName === '' ? null : a.imageName,
      created_at: state === 'unknown' ? null : time(st.created),
      started_at: time(a.startedAt),
      finished_at: time(finished),
      exit_code: a.exitCode,
    };
  });
  const m = st.manifest;
  return {
    name: st.uuid,
    state: st.state,
    pid: st.pid,
    networks: st.networks.map(networkJson),
    private_users: st.privateUsers ? { uid_base: st.privateUsers.base, uid_count: st.privateUsers.size } : null,
    app_names: apps.map((a) => a.name),
    apps,
    created_at: time(st.created),
    started_at: time(st.started),
    user_annotations: m?.userAnnotations ?? {},
    user_labels: m?.userLabels ?? {},
  };
}

/** An image in `image list --format json`. */
export function imageJson(r: { id: ImageId; name: string; labels: Record<string, string>; size: number; importTime: number; lastUsed: number }): Record<string, unknown> {
  return {
    id: jsonImageId(r.id),
    name: r.labels.version ? `${r.name}:${r.labels.version}` : r.name,
    import_time: rfc3339(r.importTime),
    last_used_time: rfc3339(r.lastUsed),
    size: r.size,
  };
}
