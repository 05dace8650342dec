/** openpgp is large; commands that never verify must not pay for loading it (start-up target). */
import type * as openpgp from 'openpgp';

export type OpenPgp = typeof openpgp;

let loaded: Promise<OpenPgp> | undefined;

/** Set by bin/boot.cjs, which runs the CLI bundle where import() is not available. */
type HostImport = (specifier: string) => Promise<unknown>;

export function loadOpenPgp(): Promise<OpenPgp> {
  // The ES-module build (openpgp.mjs) is the fast one in Node: the bundle compiles import() to
  // require(), which would pick the CommonJS build, so borrow bin/boot.cjs's loader when present.
  const hostImport = (globalThis as { __capsuleImport?: HostImport }).__capsuleImport;
  loaded ??= hostImport ? (hostImport('openpgp') as Promise<OpenPgp>) : import('openpgp');
  return loaded;
}
