import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { CapsuleError, UsageError } from '../../errors/capsule-error.js';
import { POD_FILES } from '../../stage1/contract.js';
import type { Pod } from './pod.js';
import { addLogTimes, emptyLogTimes, firstOffsetSince, formatLogTime, timeAt, type LogTimes } from './log-times.js';
import { parsePodManifestView } from './pod-manifest-view.js';
import { waitUnlocked } from './pod-wait.js';

export interface LogsOptions {
  /** One app; all apps (lines prefixed `<app>: ` when there are several) when undefined. */
  app?: string;
  /** Keep printing new output until the pod's lock is released. */
  follow: boolean;
  /** Start with only the last N lines of each app's log (then follow, with `follow`). */
  tail?: number;
  /** Each line starts with the time it was written. */
  timestamps?: boolean;
  /** Only lines written at or after this time (nanoseconds since the epoch). */
  since?: bigint;
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

/** What `logs` prints of each line. */
export interface LineOptions {
  /** `<app>: ` before each line when several apps are printed, else ''. */
  prefix: string;
  /** Each line starts with the time it was written (RFC 3339, nanoseconds, UTC). */
  timestamps: boolean;
  /** Only lines written at or after this time (nanoseconds since the epoch). */
  since: bigint | null;
}

/**
 * One app's log, read from where we stopped last time. Without a prefix, times or --since the
 * bytes pass as they are (a partial line or a `\r` progress bar too); otherwise whole lines, each
 * dated by the log's times file (a partial line waits for its end, or for the pod's).
 */
class LogTail {
  private offset = 0;
  private readonly decoder = new StringDecoder('utf8');
  /** Line mode: the bytes of the line not yet ended, and where it starts in the log. */
  private pending = Buffer.alloc(0);
  private pendingStart = 0;
  private readonly times: LogTimes = emptyLogTimes();
  private timesRead = 0;
  private timesRest = '';
  private timesMissing = false;

  constructor(
    private readonly app: string,
    private readonly file: string,
    private readonly timesFile: string,
    private readonly o: LineOptions,
  ) {}

  private get raw(): boolean {
    return this.o.prefix === '' && !this.o.timestamps && this.o.since === null;
  }

  private get dated(): boolean {
    return this.o.timestamps || this.o.since !== null;
  }

  /** Starts at the last `tail` lines (undefined: all), and with --since at its first chunk. */
  position(tail: number | undefined): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    try {
      const size = fs.fstatSync(fd).size;
      let start = 0;
      if (this.o.since !== null) {
        this.readTimes(size);
        const r = firstOffsetSince(this.times, this.o.since);
        // The line holding the first chunk since then: the per-line check decides it by its start.
        start = r === null ? size : lineStartAt(fd, Math.min(r, size));
      }
      // Lines after the chunk's line all pass --since (only that line may not), so the last N
      // lines that pass start at the later of the two starts.
      if (tail !== undefined) start = Math.max(start, lastLinesStart(fd, size, tail));
      this.offset = this.pendingStart = start;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Writes what is new; in line mode only whole lines (the rest at `end`). */
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
        // Times are written before their bytes: read after the log, they cover all of it.
        if (this.dated) this.readTimes(this.offset);
        this.emit(buf.subarray(0, n), write);
      }
    } finally {
      fs.closeSync(fd);
    }
    this.flush(write, end);
  }

  /** Reads the times file's new records (until the log's `upTo` is covered, or its end). */
  private readTimes(upTo: number): void {
    const last = this.times.offsets[this.times.offsets.length - 1];
    if (last !== undefined && last >= upTo) return;
    let text: Buffer;
    try {
      const fd = fs.openSync(this.timesFile, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        text = Buffer.alloc(Math.max(0, size - this.timesRead));
        const n = fs.readSync(fd, text, 0, text.length, this.timesRead);
        text = text.subarray(0, n);
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      this.timesMissing = true;
      return;
    }
    this.timesRead += text.length;
    this.timesRest = addLogTimes(this.times, this.timesRest + text.toString('latin1'));
  }

  private emit(bytes: Buffer, write: (s: string) => void): void {
    if (this.raw) {
      const text = this.decoder.write(bytes);
      if (text !== '') write(text);
      return;
    }
    const all = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    let out = '';
    let from = 0;
    for (let nl = all.indexOf(0x0a); nl >= 0; nl = all.indexOf(0x0a, from)) {
      out += this.line(this.pendingStart + from, all.subarray(from, nl));
      from = nl + 1;
    }
    this.pendingStart += from;
    this.pending = Buffer.from(all.subarray(from));
    if (out !== '') write(out);
  }

  /** One line as printed ('' when --since drops it). */
  private line(start: number, bytes: Buffer): string {
    let stamp = '';
    if (this.dated) {
      const t = timeAt(this.times, start);
      if (t === null) {
        throw new CapsuleError('pod-logs', `app "${this.app}": its log has no times${this.timesMissing ? ' (written before capsule kept them)' : ''}, needed by --since and --timestamps`);
      }
      if (this.o.since !== null && t < this.o.since) return '';
      if (this.o.timestamps) stamp = `${formatLogTime(t)} `;
    }
    return `${this.o.prefix}${stamp}${bytes.toString('utf8')}\n`;
  }

  private flush(write: (s: string) => void, end: boolean): void {
    if (!end) return;
    if (this.raw) {
      const text = this.decoder.end();
      if (text !== '') write(text);
      return;
    }
    if (this.pending.length === 0) return;
    const out = this.line(this.pendingStart, this.pending);
    this.pendingStart += this.pending.length;
    this.pending = Buffer.alloc(0);
    if (out !== '') write(out);
  }
}

/** Where the line holding the byte at `offset` begins. */
export function lineStartAt(fd: number, offset: number): number {
  const buf = Buffer.allocUnsafe(64 * 1024);
  let end = offset;
  while (end > 0) {
    const start = Math.max(0, end - buf.length);
    const len = fs.readSync(fd, buf, 0, end - start, start);
    const i = buf.subarray(0, len).lastIndexOf(0x0a);
    if (i >= 0) return start + i + 1;
    end = start;
  }
  return 0;
}

/**
 * The offset where the last `n` lines of the first `size` bytes of `fd` begin, read backwards in
 * blocks (a log can be large). A final line without a newline is a line.
 */
export function lastLinesStart(fd: number, size: number, n: number): number {
  if (n <= 0) return size;
  const buf = Buffer.allocUnsafe(64 * 1024);
  let newlines = 0;
  let end = size;
  // A newline that ends the file closes the last line; it does not start another one.
  let skipFinal = true;
  while (end > 0) {
    const start = Math.max(0, end - buf.length);
    const len = fs.readSync(fd, buf, 0, end - start, start);
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) {
        skipFinal = false;
        continue;
      }
      if (skipFinal && start + i === size - 1) {
        skipFinal = false;
        continue;
      }
      if (++newlines === n) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

/**
 * `logs`: prints `logs/<app>.log` (the last `tail` lines, those since `since`, dated with `timestamps`). With `follow`, keeps printing what the apps add until the
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
  const line: Omit<LineOptions, 'prefix'> = { timestamps: o.timestamps === true, since: o.since ?? null };
  const tails = chosen.map((a) => new LogTail(a, path.join(pod.dir, POD_FILES.appLog(a)), path.join(pod.dir, POD_FILES.appLogTimes(a)), { ...line, prefix: multi ? `${a}: ` : '' }));
  for (const t of tails) t.position(o.tail);
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
