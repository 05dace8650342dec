/** rkt-style listings: tab-aligned columns with a legend, or JSON. Pure: returns the text. */
import { jsonTerminalSafe, terminalSafe } from '../errors/terminal-text.js';
export type Format = 'table' | 'json' | 'json-pretty';

/**
 * rkt's listings: Go's text/tabwriter as rkt set it up (minwidth 0, tabwidth 8, padding 1, padding
 * character '\t'), so every column ends in one or more tabs and scripts can split on tabs (or on
 * whitespace) as they did with rkt. The last column is not padded.
 */
export function renderTable(header: string[], rows: string[][], legend: boolean): string {
  // Cells hold text from images and keys: control and bidi characters are shown escaped (a tab or
  // newline in a cell would also break the columns scripts split on).
  const all = (legend ? [header, ...rows] : rows).map((r) => r.map(terminalSafe));
  if (all.length === 0) return '';
  return goTabwriter(all);
}

const TAB_WIDTH = 8;
const PADDING = 1;

/**
 * Go's tabwriter.Writer.format for tab padding: each line's cells but the last are column cells;
 * a column's width is computed over each block of consecutive lines that have a cell there, and a
 * cell is followed by as many tabs as reach that width rounded up to a tab stop.
 */
export function goTabwriter(lines: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  let out = '';
  const textWidth = (s: string): number => [...s].length;
  const writeLines = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const line = lines[i] ?? [];
      line.forEach((cell, j) => {
        out += cell;
        if (j >= widths.length) return;
        const cellw = Math.ceil(widths[j]! / TAB_WIDTH) * TAB_WIDTH;
        out += '\t'.repeat(Math.ceil((cellw - textWidth(cell)) / TAB_WIDTH));
      });
      out += '\n';
    }
  };
  const format = (from: number, to: number): void => {
    const column = widths.length;
    let line0 = from;
    for (let t = line0; t < to; t++) {
      if (column >= (lines[t]?.length ?? 0) - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let width = 0;
      for (; t < to; t++) {
        const line = lines[t] ?? [];
        if (column >= line.length - 1) break;
        width = Math.max(width, textWidth(line[column] ?? '') + PADDING);
      }
      widths.push(width);
      format(line0, t);
      widths.pop();
      line0 = t;
    }
    writeLines(line0, to);
  };
  format(0, lines.length);
  return out;
}

export function renderJson(v: unknown, format: Format): string {
  return `${jsonTerminalSafe(format === 'json-pretty' ? JSON.stringify(v, null, '\t') : JSON.stringify(v))}\n`;
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
