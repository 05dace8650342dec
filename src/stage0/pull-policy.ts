import { UsageError } from '../errors/capsule-error.js';

/** rkt's pull policies: `new` (store first), `update` (remote, reuse when unchanged), `never` (store only). */
export type PullPolicy = 'new' | 'update' | 'never';

export function parsePullPolicy(s: string): PullPolicy {
  if (s === 'new' || s === 'update' || s === 'never') return s;
  throw new UsageError(`invalid pull policy ${JSON.stringify(s)} (want new, update or never)`);
}
