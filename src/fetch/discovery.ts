import { CapsuleError } from '../errors/capsule-error.js';
import { nameSegments, parseAcIdentifier, prefixCovers } from '../spec/ac-identifier.js';
import { hostOsArch } from '../spec/os-arch.js';
import { readSmallBody, type HttpClient } from './http-client.js';

/**
 * appc meta discovery (appc spec discovery.md; rkt's `discovery` package): pages at
 * `https://<prefix>?ac-discovery=1` walking up the name's path, `<meta>` tags naming a URL
 * template for images and a URL for public keys.
 *
 * Deviation from the reference: a tag's prefix must cover the name by whole path segments
 * (`example.com` covers `example.com/app`, not `example.commerce/app`); the reference uses a
 * plain string-prefix test, which lets one host's page speak for another's names.
 */

/** The one thing discovery needs from an HTTP client; unit tests pass a fake. */
export type HttpGetter = Pick<HttpClient, 'get'>;

// ---- Page parsing ------------------------------------------------------------------------
// A linear scan without an HTML library, following the HTML tokenizer where it matters here:
// attribute names case-insensitive, values double-, single- or un-quoted, the first of
// duplicate attributes wins, comments and script/style text skipped, character references
// decoded. Anything malformed is ignored, not an error.

export type DiscoveryTagKind = 'ac-discovery' | 'ac-discovery-pubkeys';

/** One tag as served: `<meta name="KIND" content="PREFIX URL">`. Untrusted input. */
export interface DiscoveryMeta {
  kind: DiscoveryTagKind;
  prefix: string;
  url: string;
}

const WS = /[\t\n\f\r ]/;

/** Elements whose text is not markup: a `<meta` inside is not a tag. */
const RAW_TEXT = ['script', 'style'];

/** `<name` at `i`, followed by white space, `/` or `>` (`lower` is the page in lower case). */
function tagAt(lower: string, i: number, name: string): boolean {
  if (!lower.startsWith(name, i + 1)) return false;
  const c = lower[i + 1 + name.length];
  return c !== undefined && (WS.test(c) || c === '/' || c === '>');
}

/** Every well-formed ac-discovery / ac-discovery-pubkeys tag of a page, in document order. */
export function parseDiscoveryMeta(html: string): DiscoveryMeta[] {
  const out: DiscoveryMeta[] = [];
  // ASCII only: full Unicode lower-casing can change the length (İ) and so every index after it.
  const lower = html.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  let i = 0;
  for (;;) {
    i = html.indexOf('<', i);
    if (i < 0) return out;
    if (html.startsWith('<!--', i)) {
      const end = html.indexOf('-->', i + 4);
      if (end < 0) return out;
      i = end + 3;
      continue;
    }
    const raw = RAW_TEXT.find((t) => tagAt(lower, i, t));
    if (raw !== undefined) {
      const end = lower.indexOf(`</${raw}`, i + 1);
      if (end < 0) return out;
      i = end + 2;
      continue;
    }
    if (tagAt(lower, i, 'meta')) {
      const tag = readAttributes(html, i + 5);
      if (tag === undefined) return out;
      const meta = toMeta(tag.attrs);
      if (meta) out.push(meta);
      i = tag.end;
      continue;
    }
    i++;
  }
}

/** Reads attributes from `start` to the closing `>`; undefined when the page ends first. */
function readAttributes(s: string, start: number): { attrs: Map<string, string>; end: number } | undefined {
  const attrs = new Map<string, string>();
  let i = start;
  const skipWs = (): void => {
    while (i < s.length && WS.test(s[i]!)) i++;
  };
  for (;;) {
    while (i < s.length && (WS.test(s[i]!) || s[i] === '/')) i++;
    if (i >= s.length) return undefined;
    if (s[i] === '>') return { attrs, end: i + 1 };
    const nameStart = i;
    i++; // the first character belongs to the name even if it is '='
    while (i < s.length && !WS.test(s[i]!) && s[i] !== '/' && s[i] !== '>' && s[i] !== '=') i++;
    const name = s.slice(nameStart, i).toLowerCase();
    skipWs();
    let value = '';
    if (s[i] === '=') {
      i++;
      skipWs();
      const q = s[i];
      if (q === '"' || q === "'") {
        const close = s.indexOf(q, i + 1);
        if (close < 0) return undefined;
        value = s.slice(i + 1, close);
        i = close + 1;
      } else {
        const vStart = i;
        while (i < s.length && !WS.test(s[i]!) && s[i] !== '>') i++;
        value = s.slice(vStart, i);
      }
    }
    if (!attrs.has(name)) attrs.set(name, decodeEntities(value));
  }
}

function toMeta(attrs: Map<string, string>): DiscoveryMeta | undefined {
  const kind = attrs.get('name');
  if (kind !== 'ac-discovery' && kind !== 'ac-discovery-pubkeys') return undefined;
  const content = (attrs.get('content') ?? '').trim();
  const m = /^(\S+)\s+(\S+)$/.exec(content);
  if (!m) return undefined; // missing prefix or URL, or more than two words
  return { kind, prefix: m[1]!, url: m[2]! };
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(v: string): string {
  if (!v.includes('&')) return v;
  return v.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);/g, (m, ref: string) => {
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return NAMED[ref] ?? m;
  });
}

// ---- Rendering -----------------------------------------------------------------------------

/**
 * Renders a URL template by literal, single-pass substitution: `{name}`, `{version}` (default
 * `latest`), `{os}` and `{arch}` (default: the host's), any other label, and `{ext}`. A label
 * called `name` or `ext` cannot override those. Undefined when any `{…}` is left (the reference's
 * rule: such templates are skipped). Values are not escaped, as in the reference.
 */
export function renderTemplate(template: string, name: string, labels: Readonly<Record<string, string>>, ext: string, host: { os: string; arch: string } = hostOsArch()): string | undefined {
  const vars = new Map<string, string>([
    ['version', 'latest'],
    ['os', host.os],
    ['arch', host.arch],
  ]);
  for (const [k, v] of Object.entries(labels)) {
    if (v === '' && vars.has(k)) continue; // an empty version/os/arch keeps its default
    vars.set(k, v);
  }
  vars.set('name', name);
  vars.set('ext', ext);
  const out = template.replace(/\{([^{}]*)\}/g, (m, k: string) => vars.get(k) ?? m);
  return /\{.*\}/.test(out) ? undefined : out;
}

/** `a/b/c` → `a/b/c`, `a/b`, `a`: the pages discovery asks, nearest first. */
export function discoveryPrefixes(name: string): string[] {
  const segs = nameSegments(name);
  return segs.map((_, i) => segs.slice(0, segs.length - i).join('/'));
}

export interface AciEndpoint {
  aci: string;
  asc: string;
}

function schemeOk(u: string, allowHttp: boolean): boolean {
  try {
    const p = new URL(u).protocol;
    return p === 'https:' || (allowHttp && p === 'http:');
  } catch {
    return false;
  }
}

/**
 * Image and signature URLs of one page for `name`, in document order: tags whose prefix covers
 * the name, templates that render completely, to an https URL (or http with `allowHttp`);
 * hdfs:// and other schemes are left out.
 */
export function endpointsFromMeta(metas: readonly DiscoveryMeta[], name: string, labels: Readonly<Record<string, string>>, o: { allowHttp?: boolean; host?: { os: string; arch: string } } = {}): AciEndpoint[] {
  const out: AciEndpoint[] = [];
  for (const m of metas) {
    if (m.kind !== 'ac-discovery' || !prefixCovers(m.prefix, name)) continue;
    const aci = renderTemplate(m.url, name, labels, 'aci', o.host);
    const asc = renderTemplate(m.url, name, labels, 'aci.asc', o.host);
    if (aci === undefined || asc === undefined) continue;
    if (!schemeOk(aci, o.allowHttp === true) || !schemeOk(asc, o.allowHttp === true)) continue;
    out.push({ aci, asc });
  }
  return out;
}

/** Key URLs of one page for `prefix` (http and https; whether http may be used is the key fetcher's rule). */
export function pubkeysFromMeta(metas: readonly DiscoveryMeta[], prefix: string): string[] {
  return metas.filter((m) => m.kind === 'ac-discovery-pubkeys' && prefixCovers(m.prefix, prefix) && schemeOk(m.url, true)).map((m) => m.url);
}

// ---- Walking -------------------------------------------------------------------------------

export interface DiscoverOptions {
  /** --insecure-options=http: after an https failure, ask the same page over http://. */
  allowHttp?: boolean;
  debug?: (msg: string) => void;
}

/** Discovery pages are small; a larger answer is a failure of that level. */
const MAX_PAGE_BYTES = 1024 * 1024;

interface Page {
  url: string;
  metas: DiscoveryMeta[];
}

function innermostMessage(e: unknown): string {
  let cur = e;
  while (cur instanceof Error && cur.cause !== undefined) cur = cur.cause;
  return cur instanceof Error ? cur.message : String(cur);
}

/** GETs one level over https (then http with allowHttp); a page with status 200, or the problems met. */
async function fetchPage(http: HttpGetter, prefix: string, allowHttp: boolean): Promise<Page | { problems: string[] }> {
  const problems: string[] = [];
  for (const scheme of allowHttp ? ['https', 'http'] : ['https']) {
    const url = `${scheme}://${prefix}?ac-discovery=1`;
    try {
      const res = await http.get(url);
      if (res.status !== 200) {
        await res.dump().catch(() => undefined);
        problems.push(`${url} (HTTP ${res.status})`);
        continue;
      }
      const body = await readSmallBody(res, MAX_PAGE_BYTES, 'the page');
      return { url, metas: parseDiscoveryMeta(body.toString('utf8')) };
    } catch (e) {
      problems.push(`${url} (${innermostMessage(e)})`);
    }
  }
  return { problems };
}

/** Walks `name`'s levels until `pick` finds something on a page; throws `discovery failed` listing every attempt. */
async function walk<T>(http: HttpGetter, name: string, what: string, o: DiscoverOptions, pick: (metas: DiscoveryMeta[]) => T[]): Promise<{ found: T[]; page: string }> {
  const id = parseAcIdentifier(name, 'discovery name');
  const tried: string[] = [];
  for (const prefix of discoveryPrefixes(id)) {
    const page = await fetchPage(http, prefix, o.allowHttp === true);
    if ('problems' in page) {
      tried.push(...page.problems);
      o.debug?.(`meta tag '${what}' not found on ${prefix}: ${page.problems.join(', ')}`);
      continue;
    }
    const found = pick(page.metas);
    if (found.length > 0) return { found, page: page.url };
    const hasTags = page.metas.some((m) => m.kind === what);
    const problem = hasTags ? `no usable ${what} tag for "${id}"` : `no ${what} tag`;
    tried.push(`${page.url} (${problem})`);
    o.debug?.(`meta tag '${what}' not found on ${prefix}: ${problem}`);
  }
  throw new CapsuleError('discovery', `discovery failed for ${JSON.stringify(id)}: no ${what} found; tried ${tried.join(', ')}`);
}

/** Image and signature URLs for `name` + labels (first level that yields any; document order). */
export async function discoverEndpoints(http: HttpGetter, name: string, labels: Readonly<Record<string, string>>, o: DiscoverOptions = {}): Promise<{ aci: AciEndpoint[] }> {
  const r = await walk(http, name, 'ac-discovery', o, (metas) => endpointsFromMeta(metas, name, labels, { allowHttp: o.allowHttp === true }));
  return { aci: r.found };
}

export interface PubkeyLocations {
  keys: string[];
  /** The page that named them; when it is http://, the key URLs are no better than http. */
  page: string;
}

/** Public key URLs for `prefix`, with the page they came from (walked independently of endpoints). */
export async function discoverPubkeyLocations(http: HttpGetter, prefix: string, o: DiscoverOptions = {}): Promise<PubkeyLocations> {
  const r = await walk(http, prefix, 'ac-discovery-pubkeys', o, (metas) => pubkeysFromMeta(metas, prefix));
  return { keys: r.found, page: r.page };
}

/** Public key URLs for `prefix`. */
export async function discoverPubkeys(http: HttpGetter, prefix: string, o: DiscoverOptions = {}): Promise<string[]> {
  return (await discoverPubkeyLocations(http, prefix, o)).keys;
}
