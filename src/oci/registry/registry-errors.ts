/** Registry error bodies are small; more is not read for a message. */
export const MAX_ERROR_BODY = 64 * 1024;
const MAX_SHOWN = 200;

/**
 * Server-chosen text made fit for one line on a terminal: control characters (escape sequences,
 * line breaks) become spaces, runs of white space one space, and it is cut at 200 characters.
 */
export function sanitizeServerText(s: string): string {
  const flat = s
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > MAX_SHOWN ? `${flat.slice(0, MAX_SHOWN)}…` : flat;
}

/**
 * The registry's own explanation from a distribution error body
 * (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":…}]}`):
 * `manifest unknown (MANIFEST_UNKNOWN)`, several joined with "; ". Undefined when the body is
 * not that shape (an HTML error page, a proxy's text).
 */
export function registryErrorText(body: Buffer): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const errors = (doc as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const parts: string[] = [];
  for (const e of errors.slice(0, 4)) {
    if (typeof e !== 'object' || e === null) continue;
    const { code, message } = e as { code?: unknown; message?: unknown };
    const c = typeof code === 'string' ? sanitizeServerText(code) : '';
    const m = typeof message === 'string' ? sanitizeServerText(message) : '';
    if (c === '' && m === '') continue;
    parts.push(m !== '' && c !== '' ? `${m} (${c})` : m || c);
  }
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** The error code of the first distribution error in a body, if any (`MANIFEST_UNKNOWN`, `DENIED`). */
export function registryErrorCode(body: Buffer): string | undefined {
  try {
    const errors = (JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown }[] } | null)?.errors;
    const c = Array.isArray(errors) ? errors[0]?.code : undefined;
    return typeof c === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}
