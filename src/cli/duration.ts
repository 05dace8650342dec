import { UsageError } from '../errors/capsule-error.js';

const UNIT: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations as rkt takes them: `30m`, `24h`, `1h30m`, `0`. Returns milliseconds. */
export function parseDuration(s: string, flag: string): number {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNIT[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== s.length || s === '') throw new UsageError(`invalid duration ${JSON.stringify(s)} for ${flag} (examples: 30m, 24h, 1h30m)`);
  return total;
}
