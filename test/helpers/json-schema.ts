/**
 * A small JSON Schema (2020-12) checker for the subset test/schemas uses: type (with "integer"
 * and "null"), enum, pattern, minimum, properties, required, additionalProperties,
 * propertyNames, items, anyOf and local $ref. Returns the problems, each with its JSON path;
 * an unknown keyword is a problem too, so the schema cannot silently say more than is checked.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set(['$schema', '$id', 'title', 'description', '$defs', 'type', 'enum', 'pattern', 'minimum', 'properties', 'required', 'additionalProperties', 'propertyNames', 'items', 'anyOf', '$ref']);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function validate(root: Schema, ref: string, value: unknown): string[] {
  const problems: string[] = [];
  const resolve = (r: string): Schema => {
    if (!r.startsWith('#/')) throw new Error(`only local $ref: ${r}`);
    let cur: unknown = root;
    for (const part of r.slice(2).split('/')) cur = (cur as Schema)[part];
    if (cur === undefined) throw new Error(`unresolved $ref ${r}`);
    return cur as Schema;
  };
  const check = (s: Schema, v: unknown, at: string): void => {
    for (const k of Object.keys(s)) if (!KNOWN.has(k)) problems.push(`${at}: schema keyword ${k} is not checked`);
    if (typeof s.$ref === 'string') check(resolve(s.$ref), v, at);
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
      const t = typeOf(v);
      if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) {
        problems.push(`${at}: ${t}, expected ${types.join(' or ')}`);
        return;
      }
    }
    if (Array.isArray(s.enum) && !s.enum.includes(v)) problems.push(`${at}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
    if (typeof s.pattern === 'string' && typeof v === 'string' && !new RegExp(s.pattern).test(v)) problems.push(`${at}: ${JSON.stringify(v)} does not match ${s.pattern}`);
    if (typeof s.minimum === 'number' && typeof v === 'number' && v < s.minimum) problems.push(`${at}: ${v} < ${s.minimum}`);
    if (Array.isArray(s.anyOf)) {
      const ok = (s.anyOf as Schema[]).some((alt) => validate({ ...root, ...{ __alt: alt } }, '#/__alt', v).length === 0);
      if (!ok) problems.push(`${at}: ${JSON.stringify(v)} matches none of anyOf`);
    }
    if (typeOf(v) === 'object') {
      const o = v as Record<string, unknown>;
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const r of (s.required ?? []) as string[]) if (!(r in o)) problems.push(`${at}: missing ${r}`);
      for (const [k, x] of Object.entries(o)) {
        if (s.propertyNames && typeof (s.propertyNames as Schema).pattern === 'string' && !new RegExp((s.propertyNames as Schema).pattern as string).test(k)) problems.push(`${at}: key ${k} does not match ${(s.propertyNames as Schema).pattern as string}`);
        if (props[k]) check(props[k], x, `${at}.${k}`);
        else if (s.additionalProperties === false) problems.push(`${at}: unexpected key ${k}`);
        else if (typeof s.additionalProperties === 'object') check(s.additionalProperties as Schema, x, `${at}.${k}`);
      }
    }
    if (Array.isArray(v) && s.items) v.forEach((x, i) => check(s.items as Schema, x, `${at}[${i}]`));
  };
  check(resolve(ref), value, '$');
  return problems;
}
