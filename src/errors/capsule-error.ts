/**
 * The one error model. Every failure a user can cause or meet is a CapsuleError with a stable
 * `code`; `main` prints `<command>: <message>: <innermost cause>` and exits 254.
 * Anything else reaching `main` is a bug and is reported as one.
 */
export interface CapsuleErrorOptions {
  cause?: unknown;
  hint?: string;
}

export class CapsuleError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: CapsuleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CapsuleError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** Bad flags or arguments: same exit code, no cause chain. */
export class UsageError extends CapsuleError {
  constructor(message: string, hint?: string) {
    super('usage', message, hint === undefined ? {} : { hint });
    this.name = 'UsageError';
  }
}

/** A content digest that did not match what was expected. */
export class DigestMismatch extends CapsuleError {
  constructor(
    readonly expected: string,
    readonly actual: string,
    what: string,
  ) {
    super('digest-mismatch', `${what}: expected ${expected}, got ${actual}`);
    this.name = 'DigestMismatch';
  }
}

/** Wraps `cause` with what was being done; keeps a CapsuleError's code. */
export function wrap(what: string, cause: unknown, code?: string): CapsuleError {
  const inner = cause instanceof CapsuleError ? cause.code : 'failed';
  return new CapsuleError(code ?? inner, what, { cause });
}

/** Node's system errors (ENOENT, EACCES…) are user-facing failures, not bugs. */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code ?? '');
}

export function errorChain(e: unknown): unknown[] {
  const chain: unknown[] = [];
  let cur: unknown = e;
  while (cur !== undefined && chain.length < 32) {
    chain.push(cur);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return chain;
}

export function messageOf(e: unknown): string {
  if (isSystemError(e)) {
    const se = e;
    const what = se.syscall ? `${se.syscall} ${se.path ?? ''}`.trim() : (se.path ?? '');
    const reason = describeErrno(se.code ?? '');
    return what ? `${what}: ${reason}` : reason;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

function describeErrno(code: string): string {
  const table: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EEXIST: 'file exists',
    ENOTDIR: 'not a directory',
    EISDIR: 'is a directory',
    ENOSPC: 'no space left on device',
    ELOOP: 'too many levels of symbolic links',
    ENOTEMPTY: 'directory not empty',
    EROFS: 'read-only file system',
  };
  return table[code] ?? code;
}
