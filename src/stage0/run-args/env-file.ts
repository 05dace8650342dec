import { UsageError } from '../../errors/capsule-error.js';

/**
 * Parses a `--set-env-file` (rkt's format): one `NAME=VALUE` a line, the value taken verbatim up to
 * the end of the line; lines starting with `#` or `;` and blank lines are ignored. A malformed line
 * or a name given twice is an error naming the file and the line.
 */
export function parseEnvFile(text: string, file: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? '';
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const where = `${file}:${i + 1}`;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new UsageError(`${where}: environment variable must be specified as name=value`);
    const name = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (name.includes('\0') || value.includes('\0')) throw new UsageError(`${where}: environment variable contains a NUL character`);
    if (seen.has(name)) throw new UsageError(`${where}: environment variable ${JSON.stringify(name)} already set`);
    seen.add(name);
    out.push([name, value]);
  }
  return out;
}
