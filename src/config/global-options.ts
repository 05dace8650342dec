import path from 'node:path';
import { UsageError } from '../errors/capsule-error.js';

export const INSECURE_VALUES = ['none', 'image', 'tls', 'http', 'pubkey', 'capabilities', 'paths', 'seccomp', 'ondisk', 'all-fetch', 'all-run', 'all'] as const;
export type InsecureOption = 'image' | 'tls' | 'http' | 'pubkey' | 'capabilities' | 'paths' | 'seccomp';

const EXPAND: Record<string, InsecureOption[]> = {
  none: [],
  ondisk: [],
  'all-fetch': ['image', 'tls', 'http', 'pubkey'],
  'all-run': ['capabilities', 'paths', 'seccomp'],
  all: ['image', 'tls', 'http', 'pubkey', 'capabilities', 'paths', 'seccomp'],
};

/** Parses `--insecure-options`; unknown values are rejected (secure by default, insecure by name). */
export function parseInsecureOptions(s: string | undefined): ReadonlySet<InsecureOption> {
  const out = new Set<InsecureOption>();
  if (s === undefined || s === '') return out;
  for (const raw of s.split(',')) {
    const v = raw.trim();
    if (!(INSECURE_VALUES as readonly string[]).includes(v)) {
      throw new UsageError(`invalid value ${JSON.stringify(v)} for --insecure-options (allowed: ${INSECURE_VALUES.join(', ')})`);
    }
    for (const o of EXPAND[v] ?? [v as InsecureOption]) out.add(o);
  }
  return out;
}

/** Every filesystem root Capsule touches, resolved once from the global flags. */
export interface GlobalOptions {
  dir: string;
  localConfig: string;
  systemConfig: string;
  userConfig: string | undefined;
  insecure: ReadonlySet<InsecureOption>;
  debug: boolean;
  trustKeysFromHttps: boolean;
}

export const DEFAULTS = { dir: '/var/lib/capsule', localConfig: '/etc/capsule', systemConfig: '/usr/lib/capsule' } as const;

export function resolveGlobalOptions(raw: Record<string, unknown>): GlobalOptions {
  const s = (k: string, d: string): string => path.resolve(typeof raw[k] === 'string' && raw[k] !== '' ? raw[k] : d);
  return {
    dir: s('dir', DEFAULTS.dir),
    localConfig: s('localConfig', DEFAULTS.localConfig),
    systemConfig: s('systemConfig', DEFAULTS.systemConfig),
    userConfig: typeof raw.userConfig === 'string' && raw.userConfig !== '' ? path.resolve(raw.userConfig) : undefined,
    insecure: parseInsecureOptions(raw.insecureOptions as string | undefined),
    debug: raw.debug === true,
    trustKeysFromHttps: raw.trustKeysFromHttps === true,
  };
}
