import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';
import { POD_FILES } from '../../stage1/contract.js';
import type { Pod } from './pod.js';
import { parsePodManifestView } from './pod-manifest-view.js';
import { waitUnlocked } from './pod-wait.js';

export interface LogsOptions {
  /** One app; all apps (lines prefixed `<app>: ` when there are several) when undefined. */
  app?: string;
  /** Keep printing new output until the pod's lock is released. */
  follow: boolean;
  write(s: string): void;
  pollMs?: number;
}

/** The pod's app names, from its manifest, else from runtime.json. */
function appNames(pod: Pod): string[] {
  try {
    const m = parsePodManifestView(fs.readFileSync(path.join(pod.dir, POD_FILES.manifest), 'utf8'));
    if (m) return m.apps.map((a) => a.name);
  } catch {
    /* fall through */
  }
  try {
    const r = JSON.parse(fs.readFileSync(path.join(pod.dir, POD_FILES.runtime), 'utf8')) as { apps?: Array<{ name?: unknown }> };
    return (r.apps ?? []).map((a) => String(a.name));
  } catch {
    throw new CapsuleError('pod-logs', `pod "${pod.uuid}" has no readable manifest`);
  }
}

/** One app's log, read from where we stopped last time. */
class LogTail {
  private offset = 0;
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(
    private readonly file: string,
    private readonly prefix: string,
  ) {}

  /** Writes what is new; with a prefix only whole lines (the rest at `end`). */
  drain(write: (s: string) => void, end: boolean): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return this.flush(write, end);
      throw e;
    }
    try {
      const buf = Buffer.allocUnsafe(64 * 1024);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
        if (n === 0) break;
        this.offset += n;
        this.emit(this.decoder.write(buf.subarray(0, n)), write);
      }
    } finally {
      fs.closeSync(fd);
    }
    this.flush(write, end);
  }

  private emit(text: string, write: (s: string) => void): void {
    if (this.prefix === '') {
      if (text !== '') write(text);
      return;
    }
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    if (lines.length > 0) write(lines.map((l) => `${this.prefix}${l}\n`).join(''));
  }

  private flush(write: (s: string) => void, end: boolean): void {
    if (!end) return;
    this.emit(this.decoder.end(), write);
    if (this.partial !== '') write(`${this.prefix}${this.partial}\n`);
    this.partial = '';
  }
}

/**
 * `logs`: prints `logs/<app>.log`. With `follow`, keeps printing what the apps add until the
 * pod's lock is released (the pod ended), then prints the rest and returns.
 */
export async function podLogs(pod: Pod, o: LogsOptions): Promise<void> {
  const apps = appNames(pod);
  let chosen: string[];
  if (o.app !== undefined) {
    if (!apps.includes(o.app)) throw new UsageError(`app ${JSON.stringify(o.app)} is not present in pod "${pod.uuid}"`, `apps: ${apps.join(', ')}`);
    chosen = [o.app];
  } else {
    chosen = apps;
  }
  const multi = chosen.length > 1;
  const write = (s: string): void => o.write(s);
  const tails = chosen.map((a) => new LogTail(path.join(pod.dir, POD_FILES.appLog(a)), multi ? `${a}: ` : ''));
  if (!o.follow) {
    for (const t of tails) t.drain(write, true);
    return;
  }
  let ended = false;
  const done = waitUnlocked(pod, null).then(() => {
    ended = true;
  });
  while (!ended) {
    for (const t of tails) t.drain(write, false);
    await Promise.race([done, sleep(o.pollMs ?? 200)]);
  }
  await done;
  for (const t of tails) t.drain(write, true);
}
