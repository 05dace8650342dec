/** rkt-style listings: aligned columns with a legend, or JSON. Pure: returns the text. */
export type Format = 'table' | 'json' | 'json-pretty';

export function renderTable(header: string[], rows: string[][], legend: boolean): string {
  const all = legend ? [header, ...rows] : rows;
  if (all.length === 0) return '';
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').replace(/\s+$/, '')).join('\n') + '\n';
}

export function renderJson(v: unknown, format: Format): string {
  return `${format === 'json-pretty' ? JSON.stringify(v, null, '\t') : JSON.stringify(v)}\n`;
}

/** IEC sizes like rkt: `12MiB`. */
export function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n}B` : `${v >= 10 ? Math.round(v) : Math.round(v * 10) / 10}${units[i]!}`;
}

/** "N minutes ago" for short listings. */
export function humanAgo(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  const pick = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'} ago`;
  if (s < 60) return pick(s, 'second');
  if (s < 3600) return pick(Math.round(s / 60), 'minute');
  if (s < 86400) return pick(Math.round(s / 3600), 'hour');
  return pick(Math.round(s / 86400), 'day');
}

/** rkt's long time layout `2006-01-02 15:04:05.999 -0700 MST` (UTC here). */
export function longTime(ms: number): string {
  const d = new Date(ms);
  const iso = d.toISOString();
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac ? `.${frac}` : ''} +0000 UTC`;
}
