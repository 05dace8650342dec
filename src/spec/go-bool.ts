/**
 * Go's strconv.ParseBool, which rkt's (cobra's) flags use: scripts and unit files pass
 * `--flag=true|false|1|0|t|f|TRUE|False…`. Anything else is undefined (the caller's usage error).
 */
export function parseGoBool(s: string): boolean | undefined {
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  return undefined;
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);
