import { UsageError } from '../../errors/capsule-error.js';

/**
 * The times of an app's log (POD_FILES.appLogTimes): the stage1 helper writes one line
 * `<offset> <sec>.<nsec>` before each chunk it appends to the log, so a line of the log was
 * written at the time of the last record at or before its first byte. Pure: parsing and lookups.
 */
export interface LogTimes {
  /** Byte offsets into the log, ascending. */
  offsets: number[];
  /** Wall-clock times in nanoseconds since the epoch, one per offset. */
  times: bigint[];
}

export function emptyLogTimes(): LogTimes {
  return { offsets: [], times: [] };
}

/**
 * Adds the complete lines of `text` to `t`; returns what is left after the last newline (a record
 * being written). A malformed line is skipped: a damaged times file loses dates, never log lines.
 */
export function addLogTimes(t: LogTimes, text: string): string {
  const lines = text.split('\n');
  const rest = lines.pop() ?? '';
  for (const l of lines) {
    const m = /^(\d+) (\d+)\.(\d{9})$/.exec(l);
    if (!m) continue;
    const offset = Number(m[1]);
    if (t.offsets.length > 0 && offset < t.offsets[t.offsets.length - 1]!) continue;
    t.offsets.push(offset);
    t.times.push(BigInt(m[2]!) * 1_000_000_000n + BigInt(m[3]!));
  }
  return rest;
}

/** When the byte at `offset` was written: the last record at or before it; null before the first. */
export function timeAt(t: LogTimes, offset: number): bigint | null {
  let lo = 0;
  let hi = t.offsets.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (t.offsets[mid]! <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found < 0 ? null : t.times[found]!;
}

/** The offset of the first record written at or after `since`; null when there is none. */
export function firstOffsetSince(t: LogTimes, since: bigint): number | null {
  const i = t.times.findIndex((x) => x >= since);
  return i < 0 ? null : t.offsets[i]!;
}

/** RFC 3339 in UTC with nanoseconds, as `docker logs --timestamps` prints them. */
export function formatLogTime(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = String(ns % 1_000_000_000n).padStart(9, '0');
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?)?$/i;

/**
 * `--since`: a Go duration back from `nowMs` (`10m`, `1h30m`) or an RFC 3339 time
 * (`2026-12-06T13:05:57Z`, an offset, or a date alone meaning its midnight UTC). Nanoseconds.
 */
export function parseSince(s: string, nowMs: number, parseDurationMs: (s: string) => number): bigint {
  const m = RFC3339.exec(s);
  if (m) {
    const [, y, mo, d, h, mi, sec, frac = '', zone] = m;
    const bad = (why: string): UsageError => new UsageError(`invalid time ${JSON.stringify(s)} for --since: ${why}`);
    if (h !== undefined && zone === undefined) throw bad('give its zone (Z or ±hh:mm)');
    const [Y, M, D, H, MI, S] = [y, mo, d, h ?? '0', mi ?? '0', sec ?? '0'].map(Number) as [number, number, number, number, number, number];
    const days = new Date(Date.UTC(Y, M, 0)).getUTCDate();
    if (M < 1 || M > 12 || D < 1 || D > days || H > 23 || MI > 59 || S > 59) throw bad('no such date or time');
    let ms = Date.UTC(Y, M - 1, D, H, MI, S);
    if (zone !== undefined && zone.toUpperCase() !== 'Z') {
      const sign = zone.startsWith('-') ? -1 : 1;
      ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
    }
    return BigInt(ms) * 1_000_000n + BigInt(frac.padEnd(9, '0'));
  }
  let back: number;
  try {
    back = parseDurationMs(s);
  } catch {
    throw new UsageError(`invalid value ${JSON.stringify(s)} for --since: a duration (10m, 1h30m) or an RFC 3339 time (2026-12-06T13:05:57Z)`);
  }
  return BigInt(Math.round((nowMs - back) * 1000)) * 1000n;
}
