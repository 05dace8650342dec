/** openpgp is large; commands that never verify must not pay for loading it (start-up target). */
import type * as openpgp from 'openpgp';

export type OpenPgp = typeof openpgp;

let loaded: Promise<OpenPgp> | undefined;

export function loadOpenPgp(): Promise<OpenPgp> {
  loaded ??= import('openpgp');
  return loaded;
}
