import { CapsuleError } from '../../errors/capsule-error.js';
import { parseStrictJson } from '../../spec/strict-json.js';

/**
 * The payload of a "simple signing" signature (containers-signature(5)):
 *   {"critical":{"type":"atomic container signature",
 *                "image":{"docker-manifest-digest":"sha256:…"},
 *                "identity":{"docker-reference":"registry.example.com/team/app:1.0"}},
 *    "optional":{"creator":"…","timestamp":…}}
 * Parsed only after the OpenPGP signature over it verified. Unknown keys anywhere under
 * `critical` (and at the top level) are refused, as the format requires: a consumer that does not
 * understand a critical field must not accept the claim. `optional` is not interpreted.
 */
export interface UntrustedClaim {
  dockerReference: string;
  dockerManifestDigest: string;
}

export const CLAIM_TYPE = 'atomic container signature';
const bad = (why: string): CapsuleError => new CapsuleError('signature', `the signed claim ${why}`);

function object(v: unknown, what: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`has no ${what} object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw bad(`has an unknown field ${JSON.stringify(k)} in ${what}`);
  for (const k of allowed) if (what !== 'the top level' && !Object.hasOwn(o, k)) throw bad(`lacks ${what}.${k}`);
  return o;
}

const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || v === '') throw bad(`has no string ${what}`);
  return v;
};

export function parseClaim(payload: Uint8Array): UntrustedClaim {
  let doc: unknown;
  try {
    doc = parseStrictJson(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (e) {
    throw bad(`is not valid JSON: ${(e as Error).message}`);
  }
  const top = object(doc, 'the top level', ['critical', 'optional']);
  if (!Object.hasOwn(top, 'critical')) throw bad('has no "critical" object');
  if (top.optional !== undefined && (typeof top.optional !== 'object' || top.optional === null || Array.isArray(top.optional))) throw bad('has an "optional" that is not an object');
  const critical = object(top.critical, 'critical', ['type', 'image', 'identity']);
  if (critical.type !== CLAIM_TYPE) throw bad(`has critical.type ${JSON.stringify(critical.type)}, not ${JSON.stringify(CLAIM_TYPE)}`);
  const image = object(critical.image, 'critical.image', ['docker-manifest-digest']);
  const identity = object(critical.identity, 'critical.identity', ['docker-reference']);
  return { dockerReference: str(identity['docker-reference'], 'critical.identity.docker-reference'), dockerManifestDigest: str(image['docker-manifest-digest'], 'critical.image.docker-manifest-digest') };
}
