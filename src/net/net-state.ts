import fs from 'node:fs';
import path from 'node:path';
import type { NetConfList } from './net-conf.js';
import type { RuntimeValues } from './cni-invoke.js';

/**
 * The pod's attachments, kept in `<pod dir>/net/` so every teardown path can DEL exactly what ADD
 * did, with the same config even when net.d changed since:
 * - `net/<i>.json` (an AttachRecord) is written before the net's first ADD and removed only
 *   when its DEL succeeded: present means "may still hold host state";
 * - `net/lock` is held (flock) by the pod's stage1 helper from start until its exit-time
 *   teardown ended, so gc never runs DEL beside it;
 * - `net/<i>.del<k>` are the prepared stdins of the helper's exit-time DEL calls.
 */
export const NET_DIR = 'net';
export const NET_LOCK = 'net/lock';
export const recordFile = (i: number): string => `net/${i}.json`;
export const delStdinFile = (i: number, k: number): string => `net/${i}.del${k}`;

export interface PluginRun {
  type: string;
  binary: string;
  /** Not run (a built-in net's portmap without port mappings): not run at DEL either. */
  skipped: boolean;
}

export interface AttachRecord {
  index: number;
  conf: NetConfList;
  ifName: string;
  args: Array<[string, string]>;
  containerId: string;
  netns: string;
  pluginPath: string[];
  runtime: RuntimeValues;
  plugins: PluginRun[];
  /** The final ADD result (the spec's cached result), once ADD succeeded. */
  result?: Record<string, unknown>;
}

export function writeRecord(podDir: string, r: AttachRecord): void {
  fs.mkdirSync(path.join(podDir, NET_DIR), { recursive: true, mode: 0o700 });
  const f = path.join(podDir, recordFile(r.index));
  fs.writeFileSync(`${f}.tmp`, JSON.stringify(r));
  fs.renameSync(`${f}.tmp`, f);
}

/** Records still present, in index order. Unreadable ones are reported through `bad`. */
export function readRecords(podDir: string, bad: (file: string, e: unknown) => void = () => undefined): AttachRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(podDir, NET_DIR));
  } catch {
    return [];
  }
  const out: AttachRecord[] = [];
  for (const n of names) {
    if (!/^\d+\.json$/.test(n)) continue;
    const f = path.join(podDir, NET_DIR, n);
    try {
      out.push(JSON.parse(fs.readFileSync(f, 'utf8')) as AttachRecord);
    } catch (e) {
      bad(f, e);
    }
  }
  return out.sort((a, b) => a.index - b.index);
}

export function removeRecord(podDir: string, index: number): void {
  fs.rmSync(path.join(podDir, recordFile(index)), { force: true });
}

/** The namespace file of a pod, under `netnsDir` (recognizable: `capsule-<uuid>`). */
export const netnsPath = (netnsDir: string, uuid: string): string => path.join(netnsDir, `capsule-${uuid}`);
