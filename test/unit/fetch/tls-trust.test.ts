import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trustedCas } from '../../../src/fetch/tls-trust.js';

const pem = (name: string): string => `-----BEGIN CERTIFICATE-----\n${Buffer.from(name).toString('base64')}\n-----END CERTIFICATE-----\n`;

let base: string;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-tls-trust-'));
});
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

function file(rel: string, content: string): string {
  const p = path.join(base, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  return p;
}

describe('trustedCas', () => {
  it('is the system store, NODE_EXTRA_CA_CERTS, then tls.d/*.pem of system, local and user config', () => {
    const system = file('etc/ssl/bundle.crt', pem('system'));
    const extra = file('extra.pem', pem('extra'));
    file('sys/tls.d/b.pem', pem('sys-b'));
    file('sys/tls.d/a.pem', pem('sys-a'));
    file('sys/tls.d/c.crt', pem('not a pem name'));
    file('user/tls.d/u.pem', pem('user'));
    const dirs = ['sys', 'local', 'user'].map((d) => path.join(base, d));
    expect(trustedCas(dirs, { NODE_EXTRA_CA_CERTS: extra }, [path.join(base, 'missing.crt'), system])).toEqual(
      [pem('system'), pem('extra'), pem('sys-a'), pem('sys-b'), pem('user')],
    );
  });

  it("falls back to Node's bundled roots only when the system has no CA store", () => {
    const cas = trustedCas([], {}, [path.join(base, 'none.crt')]);
    expect(cas).toEqual([...rootCertificates]);
    expect(cas.length).toBeGreaterThan(50);
  });
});
