/** max-age in seconds from a Cache-Control header; no-cache/no-store mean 0 (always revalidate). */
export function maxAgeOf(cacheControl: string | undefined): number | undefined {
  if (!cacheControl) return undefined;
  const dirs = cacheControl.split(',').map((d) => d.trim().toLowerCase());
  if (dirs.includes('no-cache') || dirs.includes('no-store')) return 0;
  for (const d of dirs) {
    const m = /^max-age=(\d+)$/.exec(d);
    if (m) return Math.min(Number(m[1]), 10 * 365 * 86400);
  }
  return undefined;
}
