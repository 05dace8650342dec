// `capsule trust` accepted a key that was already revoked or expired (issue 12 §4): it could
// never verify anything, and the user learnt so only at the first fetch. It is now refused at
// trust time with one line naming the key and why, and nothing is written to the keystore; the
// victim, a good key trusted before for the same prefix, stays.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';

let gpg: GpgHome;
let w: World;
const fp = { good: '', revoked: '', expired: '' };
beforeAll(async () => {
  gpg = makeGpgHome();
  w = makeWorld('capsule-sec-hd-');
  fp.good = gpg.genKey('Good Signer <good@example.com>');
  fp.revoked = gpg.genKey('Revoked Signer <revoked@example.com>');
  const cert = fs.readFileSync(path.join(gpg.home, 'openpgp-revocs.d', `${fp.revoked}.rev`), 'utf8');
  gpg.gpg(['--import'], cert.replace(/^:-----BEGIN/m, '-----BEGIN'));
  gpg.gpg(['--faked-system-time', '20200101T000000!', '--quick-gen-key', 'Expired Signer <expired@example.com>', 'ed25519', 'sign', '1d']);
  fp.expired = gpg.gpg(['--with-colons', '--fingerprint', 'expired@example.com']).split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!;
  const r = await w.run(['trust', '--prefix=example.com/app', '--skip-fingerprint-review', gpg.exportPublic(fp.good, path.join(w.base, 'good.asc'))]);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);
afterAll(() => {
  gpg?.cleanup();
  w?.cleanup();
});

const keyFiles = (): string[] => {
  const d = path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', 'app');
  return fs.existsSync(d) ? fs.readdirSync(d).sort() : [];
};

describe('trust refuses keys that can verify nothing', () => {
  it.each([
    ['revoked', /^trust: key [0-9a-f]{40} from ".*revoked\.asc" is revoked$/],
    ['expired', /^trust: key [0-9a-f]{40} from ".*expired\.asc" expired on 2020-01-02T00:00:00\.000Z$/],
  ] as const)('a %s key is refused and not stored; the good key stays', async (which, line) => {
    const file = gpg.exportPublic(fp[which], path.join(w.base, `${which}.asc`));
    const r = await w.run(['trust', '--prefix=example.com/app', '--skip-fingerprint-review', file]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual([expect.stringMatching(line)]);
    expect(keyFiles()).toEqual([fp.good.toLowerCase()]);
  });
});
