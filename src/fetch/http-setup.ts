import { loadAuth } from '../config/auth.js';
import type { GlobalOptions } from '../config/global-options.js';
import { HttpClient } from './http-client.js';
import { trustedCas } from './tls-trust.js';

/** The configuration directories in precedence order: system < local < user. */
export function configDirs(g: GlobalOptions): string[] {
  return [g.systemConfig, g.localConfig, ...(g.userConfig === undefined ? [] : [g.userConfig])];
}

export interface HttpSetupOverrides {
  /** Allow plain http:// for this client regardless of --insecure-options=http (trust's --insecure-allow-http). */
  allowHttp?: boolean;
  /**
   * false: no auth.d `auth` headers at all. Registries authenticate with their own scheme
   * (dockerAuth credentials, bearer tokens) and pass those per request.
   */
  authDHeaders?: boolean;
}

/**
 * The HTTP client every remote operation uses: CAs and auth.d credentials from the system, local
 * and user configuration, `--insecure-options=tls` and `=http` applied. Throws on a bad auth.d
 * file (naming the file, never a secret).
 */
export function makeHttpClient(g: GlobalOptions, overrides: HttpSetupOverrides = {}): HttpClient {
  const dirs = configDirs(g);
  const auth = loadAuth(dirs);
  return new HttpClient({
    ca: trustedCas(dirs),
    insecureTls: g.insecure.has('tls'),
    allowHttp: overrides.allowHttp ?? g.insecure.has('http'),
    authHeaders: overrides.authDHeaders === false ? () => ({}) : (host) => auth.headersFor(host),
  });
}

/** rkt's wording; callers print it through their `warn` (→ `<command>: warning: …`) when set. */
export function insecureTlsWarning(g: GlobalOptions): string | undefined {
  return g.insecure.has('tls') ? 'TLS verification has been disabled' : undefined;
}
