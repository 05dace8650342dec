import type { GlobalOptions } from '../config/global-options.js';
import { CapsuleError, UsageError } from '../errors/capsule-error.js';
import { keysForName, keystoreRoots, listTrustedKeys, type KeystoreRoots } from '../verify/keystore.js';
import { parsePublicKeys, refuseUnusableKey, type ParsedKey } from '../verify/public-key.js';
import { readKeyFile, reviewText, storeTrustedKey } from '../verify/trust-ops.js';
import type { TrustScope } from '../verify/trust-prefix.js';
// Types only: trusting a local key file must not load the HTTP stack (start-up time); the
// network parts are imported when first used.
import type { DiscoverOptions, HttpGetter, PubkeyLocations } from './discovery.js';

/**
 * Public keys from files, https URLs and `ac-discovery-pubkeys`, reviewed and stored in the
 * keystore: what `capsule trust` does, and what fetching by name does when no key is trusted
 * for the name yet (rkt's pubkey.Manager).
 */

/** A URL without user:password, for messages (http-client's redactUrl rule, without loading it). */
function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return u.replace(/\/\/[^/@]*@/, '//');
  }
}

/** Where a key comes from: a local file or a URL (`shown` is what messages print: no credentials). */
export type KeyLocation = { kind: 'file'; path: string; shown: string } | { kind: 'url'; url: string; shown: string; https: boolean };

/**
 * A KEYFILE argument or a discovered key URL. `httpFlag` names what allows http:// (trust's
 * `--insecure-allow-http`, fetch's `--insecure-options=pubkey`).
 */
export function parseKeyLocation(arg: string, o: { allowHttp: boolean; httpFlag: string }): KeyLocation {
  if (/^https:\/\//i.test(arg)) return { kind: 'url', url: arg, shown: redactUrl(arg), https: true };
  if (/^http:\/\//i.test(arg)) {
    if (!o.allowHttp) throw new UsageError(`${o.httpFlag} required for http URLs`);
    return { kind: 'url', url: arg, shown: redactUrl(arg), https: false };
  }
  const file = arg.startsWith('file://') ? arg.slice('file://'.length) : arg;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) throw new UsageError('only local files and http or https URLs supported');
  return { kind: 'file', path: file, shown: arg };
}

/** Key rings are small; this bounds what a hostile server can make us parse. */
const MAX_KEY_BYTES = 4 * 1024 * 1024;

/** Downloads and parses the keys at `url` (HTTP 200 only). */
export async function fetchKeysFromUrl(http: HttpGetter, url: string): Promise<ParsedKey[]> {
  const shown = JSON.stringify(redactUrl(url));
  const { readSmallBody } = await import('./http-client.js');
  try {
    const res = await http.get(url);
    if (res.status !== 200) {
      await res.dump().catch(() => undefined);
      throw new CapsuleError('key-fetch', `bad HTTP status code: ${res.status}`);
    }
    return await parsePublicKeys(await readSmallBody(res, MAX_KEY_BYTES, 'the key file'), shown);
  } catch (e) {
    throw new CapsuleError(e instanceof CapsuleError ? e.code : 'key-fetch', `downloading key ${shown}`, { cause: e });
  }
}

async function loadKeys(loc: KeyLocation, http: () => HttpGetter): Promise<ParsedKey[]> {
  return loc.kind === 'file' ? readKeyFile(loc.path) : fetchKeysFromUrl(http(), loc.url);
}

/** How keys are shown and asked about: the trust command uses stdout and the terminal, fetch its hooks. */
export interface KeyTrustUi {
  /** One line for stderr (`prefix: …`, `Trusting …`, `Added key …`). */
  status(line: string): void;
  /** The fingerprint and identities (reviewText). */
  show(text: string): void;
  /** Asks whether to trust the key just shown; undefined when there is no terminal to ask on. */
  ask: (() => Promise<boolean>) | undefined;
}

export interface TrustKeysRequest {
  roots: KeystoreRoots;
  scope: TrustScope;
  locations: readonly KeyLocation[];
  /** The HTTP client, made on first use (local files need none). */
  http: () => HttpGetter;
  /** --skip-fingerprint-review: trust every key without asking. */
  skipReview: boolean;
  /** --trust-keys-from-https, already limited by httpsAutoAccept(): keys from https URLs need no review. */
  autoAcceptHttps: boolean;
  /** Says how to proceed when a review is needed and cannot be asked for. */
  noTtyHint: string;
  /** When set, a key that cannot be read is reported here and skipped; otherwise it is an error. */
  onKeyError?: (loc: KeyLocation, e: unknown) => void;
}

/** Whether a key from `loc` is trusted without asking. */
function accepted(req: TrustKeysRequest, loc: KeyLocation): boolean {
  return req.skipReview || (req.autoAcceptHttps && loc.kind === 'url' && loc.https);
}

/**
 * rkt's AddKeys: for each location and each key in it, `prefix:`/`key:` lines, the fingerprint,
 * a yes/no question unless accepted, then the key is stored for the scope. Checks that every
 * needed question can be asked before anything is fetched or stored. Returns the stored files.
 */
export async function trustKeys(req: TrustKeysRequest, ui: KeyTrustUi): Promise<string[]> {
  if (ui.ask === undefined && req.locations.some((l) => !accepted(req, l))) {
    throw new CapsuleError('review', 'unable to ask user to review fingerprint due to lack of tty', { hint: req.noTtyHint });
  }
  const prefix = JSON.stringify(req.scope.kind === 'root' ? '' : req.scope.prefix);
  const stored: string[] = [];
  for (const loc of req.locations) {
    let keys: ParsedKey[];
    try {
      keys = await loadKeys(loc, req.http);
      for (const k of keys) await refuseUnusableKey(k, JSON.stringify(loc.shown));
    } catch (e) {
      if (!req.onKeyError) throw e;
      req.onKeyError(loc, e);
      continue;
    }
    const auto = accepted(req, loc);
    for (const k of keys) {
      ui.status(`prefix: ${prefix}`);
      ui.status(`key: ${JSON.stringify(loc.shown)}`);
      ui.show(reviewText(k));
      if (!auto && !(await ui.ask!())) {
        ui.status(`not trusting ${JSON.stringify(loc.shown)}`);
        continue;
      }
      ui.status(`Trusting ${JSON.stringify(loc.shown)} for prefix ${prefix} ${auto ? 'without' : 'after'} fingerprint review.`);
      const where = await storeTrustedKey(req.roots, req.scope, k);
      ui.status(req.scope.kind === 'root' ? `Added root key at ${JSON.stringify(where)}` : `Added key for prefix ${prefix} at ${JSON.stringify(where)}`);
      stored.push(where);
    }
  }
  return stored;
}

/**
 * Whether `--trust-keys-from-https` may accept keys without review here: only when certificates
 * are checked and, for discovered keys, the discovery page itself came over https (a page over
 * http could name any https URL).
 */
export function httpsAutoAccept(g: GlobalOptions, discoveredFrom?: string): boolean {
  return g.trustKeysFromHttps && autoAcceptBlocker(g, discoveredFrom) === undefined;
}

/** Why --trust-keys-from-https cannot accept keys here, if it cannot. */
function autoAcceptBlocker(g: GlobalOptions, discoveredFrom: string | undefined): string | undefined {
  if (g.insecure.has('tls')) return 'TLS verification is disabled';
  if (discoveredFrom !== undefined && !discoveredFrom.startsWith('https://')) return 'the keys were discovered over http';
  return undefined;
}

/** The end of a "cannot review" hint: suggest --trust-keys-from-https where it would help, or say why it does not. */
export function trustFromHttpsHint(g: GlobalOptions, httpsKeys: boolean, discoveredFrom?: string): string {
  if (!httpsKeys) return '';
  const blocker = autoAcceptBlocker(g, discoveredFrom);
  if (blocker !== undefined) return g.trustKeysFromHttps ? ` (--trust-keys-from-https does not apply: ${blocker})` : '';
  return g.trustKeysFromHttps ? '' : ', or call capsule with --trust-keys-from-https';
}

/** `ac-discovery-pubkeys` for `prefix`; a failure is `error determining key location`. */
export async function locateKeys(http: HttpGetter, prefix: string, o: DiscoverOptions = {}): Promise<PubkeyLocations> {
  const { discoverPubkeyLocations } = await import('./discovery.js');
  try {
    return await discoverPubkeyLocations(http, prefix, o);
  } catch (e) {
    throw new CapsuleError('discovery', 'error determining key location', { cause: e });
  }
}

/** What the fetch flow needs to talk: its hooks, plus a reviewer when there is a terminal. */
export interface KeyTrustHooks {
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  /** Shows a key and asks about it; absent when stdin/stderr are not a terminal. */
  review?: { show(text: string): void; ask(): Promise<boolean> };
}

export type KeyTrustOutcome = 'already-trusted' | 'trusted' | 'none-trusted' | 'not-found' | 'skipped';

/**
 * Fetching by name (rkt's nameFetcher.maybeFetchPubKeys): when no key is trusted for a prefix of
 * `name` (root keys do not count), discover `ac-discovery-pubkeys`, show each key, ask (or accept
 * keys from https with --trust-keys-from-https) and trust them for `name`. Discovery finding
 * nothing, or a key that cannot be read, is a warning: a root key may still verify the image,
 * and verification reports the missing key. A needed review without a terminal is an error.
 */
export async function discoverAndTrustKeys(http: HttpGetter, g: GlobalOptions, name: string, hooks: KeyTrustHooks): Promise<KeyTrustOutcome> {
  const roots = keystoreRoots(g.systemConfig, g.localConfig);
  if (keysForName(listTrustedKeys(roots), name).some((k) => k.scope.kind === 'prefix')) {
    hooks.debug(`keys already exist for prefix ${JSON.stringify(name)}, not fetching again`);
    return 'already-trusted';
  }
  const insecureKeys = g.insecure.has('pubkey');
  if (g.insecure.has('tls') && !insecureKeys) {
    hooks.warn(`not discovering keys for ${JSON.stringify(name)}: TLS verification is disabled (keys over insecure channels need --insecure-options=pubkey)`);
    return 'skipped';
  }
  if (insecureKeys) hooks.warn('signing keys may be downloaded from an insecure connection');
  let found: PubkeyLocations;
  try {
    found = await locateKeys(http, name, { allowHttp: insecureKeys && g.insecure.has('http'), debug: (m) => hooks.debug(m) });
  } catch (e) {
    hooks.warn(`${e instanceof Error ? e.message : String(e)}: ${innermost(e)}`);
    return 'not-found';
  }
  const locations: KeyLocation[] = [];
  for (const url of found.keys) {
    try {
      locations.push(parseKeyLocation(url, { allowHttp: insecureKeys, httpFlag: '--insecure-options=pubkey' }));
    } catch (e) {
      hooks.warn(`not fetching key ${JSON.stringify(redactUrl(url))}: ${innermost(e)}`);
    }
  }
  const autoAcceptHttps = httpsAutoAccept(g, found.page);
  const stored = await trustKeys(
    {
      roots,
      scope: { kind: 'prefix', prefix: name },
      locations,
      http: () => http,
      skipReview: false,
      autoAcceptHttps,
      noTtyHint: `to trust the key for ${JSON.stringify(name)}, run: capsule trust --prefix ${JSON.stringify(name)}${trustFromHttpsHint(g, locations.some((l) => l.kind === 'url' && l.https), found.page)}`,
      onKeyError: (loc, e) => hooks.warn(`error adding key ${JSON.stringify(loc.shown)}: ${innermost(e)}`),
    },
    {
      status: (line) => hooks.info(line),
      show: hooks.review ? (t) => hooks.review!.show(t) : (t) => t.trimEnd().split('\n').forEach((l) => hooks.info(l)),
      ask: hooks.review ? () => hooks.review!.ask() : undefined,
    },
  );
  return stored.length > 0 ? 'trusted' : 'none-trusted';
}

function innermost(e: unknown): string {
  let cur = e;
  while (cur instanceof Error && cur.cause !== undefined) cur = cur.cause;
  return cur instanceof Error ? cur.message : String(cur);
}
