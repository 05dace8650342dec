import fs from 'node:fs';
import path from 'node:path';
import { rootCertificates } from 'node:tls';

/** The system CA bundle on Debian (ca-certificates); other distributions' paths follow. */
export const SYSTEM_CA_FILES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem'];

/**
 * Certificate authorities trusted for HTTPS: the system store (Node's bundled roots only on a
 * system without one), NODE_EXTRA_CA_CERTS, and every `*.pem` in `<config>/tls.d/` of the system,
 * local and user configuration (in that order). Passing `ca` replaces Node's defaults, so all are
 * listed. Node's roots are not added beside the system store: the same authorities parsed twice
 * cost ~40 ms per fetch, and the system store is what the administrator curates (as for curl).
 */
export function trustedCas(configDirs: readonly string[], env: NodeJS.ProcessEnv = process.env, systemFiles: readonly string[] = SYSTEM_CA_FILES): string[] {
  const out: string[] = [];
  const add = (file: string): void => {
    try {
      out.push(fs.readFileSync(file, 'utf8'));
    } catch {
      /* missing or unreadable: not a CA source */
    }
  };
  const sys = systemFiles.find((f) => fs.existsSync(f));
  if (sys) add(sys);
  if (out.length === 0) out.push(...rootCertificates);
  if (env.NODE_EXTRA_CA_CERTS) add(env.NODE_EXTRA_CA_CERTS);
  for (const dir of configDirs) {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(dir, 'tls.d')).filter((n) => n.endsWith('.pem')).sort();
    } catch {
      continue;
    }
    for (const n of names) add(path.join(dir, 'tls.d', n));
  }
  return out;
}
