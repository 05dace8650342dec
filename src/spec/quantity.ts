import { CapsuleError } from '../errors/capsule-error.js';

const SUFFIX: Record<string, number> = {
  '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  m: 1e-3, u: 1e-6, n: 1e-9,
};

/** A Kubernetes-style resource quantity (`500m`, `128Mi`, `1G`) as a number in base units. */
export function parseQuantity(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (typeof v !== 'string') throw new CapsuleError('invalid-manifest', `${field}: quantity must be a string or a number`);
  const m = /^([0-9]+(?:\.[0-9]+)?)(?:(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E|m|u|n)|[eE]([0-9]+))?$/.exec(v);
  if (!m) throw new CapsuleError('invalid-manifest', `${field}: bad quantity ${JSON.stringify(v)}`);
  const n = Number(m[1]);
  if (m[3] !== undefined) return n * 10 ** Number(m[3]);
  return n * (SUFFIX[m[2] ?? ''] ?? 1);
}
