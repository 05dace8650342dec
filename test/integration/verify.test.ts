/**
 * Signature verification through the real CLI, with keys made by GnuPG and by openpgp.js:
 * what must verify, where the signature is looked for, system keys and masks.
 * The rejections are in verify-rejects.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, makeWorld, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { sampleImage, simpleAci } from '../helpers/images.js';
import { expectAccepted, expectNothingStored, expectRejected, lower, makeOjsKey, placeImage, subkeyFingerprint, trustKey, writeKeyFile } from './verify-fixtures.js';

let gpg: GpgHome;
let busybox: string;
const uids = {
  rsa: 'RSA Signer <rsa@example.com>',
  ed: 'Ed Signer <ed@example.com>',
  sub: 'Subkey Signer <sub@example.com>',
};
const fpr: Record<keyof typeof uids, string> = { rsa: '', ed: '', sub: '' };
let subkey = '';
const worlds: World[] = [];

function world(): World {
  const w = makeWorld('capsule-verify-');
  worlds.push(w);
  return w;
}

beforeAll(() => {
  busybox = sampleImage('busybox');
  gpg = makeGpgHome();
  fpr.rsa = gpg.genKey(uids.rsa, 'rsa3072', 'sign', 'never');
  fpr.ed = gpg.genKey(uids.ed, 'ed25519', 'sign', 'never');
  // A certify-only primary key: every signature has to come from its signing subkey.
  fpr.sub = gpg.genKey(uids.sub, 'ed25519', 'cert', 'never');
  gpg.gpg(['--quick-add-key', fpr.sub, 'ed25519', 'sign', 'never']);
  subkey = subkeyFingerprint(gpg, fpr.sub);
});

afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});

afterAll(() => gpg.cleanup());

describe('GnuPG keys', () => {
  it('verifies an RSA 3072 signature from a root-trusted key', async () => {
    const w = world();
    const img = placeImage(w, busybox);
    gpg.sign(img, fpr.rsa);
    await trustKey(w, ['--root'], gpg.exportPublic(fpr.rsa, path.join(w.base, 'rsa.pub')));
    await expectAccepted(w, ['fetch', img], uids.rsa);
  });

  it('verifies an Ed25519 signature from a key trusted for the prefix example.com/capsule', async () => {
    const w = world();
    const img = placeImage(w, busybox);
    gpg.sign(img, fpr.ed);
    await trustKey(w, ['--prefix', 'example.com/capsule'], gpg.exportPublic(fpr.ed, path.join(w.base, 'ed.pub')));
    await expectAccepted(w, ['fetch', img], uids.ed);
  });

  it('verifies a signature made with a signing subkey of a trusted certify-only primary key', async () => {
    const w = world();
    const img = placeImage(w, busybox);
    // `!` forces exactly this subkey; the packet dump proves who signed.
    const sig = gpg.sign(img, `${subkey}!`);
    expect(gpg.gpg(['--list-packets', sig])).toContain(`keyid ${subkey.slice(-16)}`);
    await trustKey(w, ['--prefix', 'example.com/capsule'], gpg.exportPublic(fpr.sub, path.join(w.base, 'sub.pub')));
    await expectAccepted(w, ['fetch', img], uids.sub);
  });

  it('accepts a prefix equal to the whole image name', async () => {
    const w = world();
    const img = placeImage(w, busybox);
    gpg.sign(img, fpr.ed);
    await trustKey(w, ['--prefix', 'example.com/capsule/busybox'], gpg.exportPublic(fpr.ed, path.join(w.base, 'ed.pub')));
    await expectAccepted(w, ['fetch', img], uids.ed);
  });
});

describe('openpgp.js keys and signatures', () => {
  it.each(['rsa3072', 'ed25519', 'ed25519-legacy', 'ed25519-v6'] as const)('verifies a %s signature made by openpgp.js', async (kind) => {
    const w = world();
    const img = placeImage(w, busybox);
    const key = await makeOjsKey(kind, `Ojs ${kind}`);
    await key.sign(img);
    const pub = path.join(w.base, 'ojs.pub');
    fs.writeFileSync(pub, key.publicArmored);
    await trustKey(w, ['--prefix', 'example.com/capsule'], pub);
    expect(fs.readdirSync(path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', 'capsule'))).toEqual([key.fingerprint]);
    await expectAccepted(w, ['fetch', img], key.uid);
  });
});

describe('system keys and masks', () => {
  it('trusts a key from the system config unless an empty local file of the same name masks it', async () => {
    const w = world();
    const img = placeImage(w, busybox);
    gpg.sign(img, fpr.ed);
    const armored = gpg.gpg(['--armor', '--export', fpr.ed]);
    const systemFile = writeKeyFile(w.systemConfig, 'example.com/capsule', lower(fpr.ed), armored);
    const mask = writeKeyFile(w.localConfig, 'example.com/capsule', lower(fpr.ed), '');

    await expectRejected(w, ['fetch', img], /not trusted/);

    fs.rmSync(mask);
    await expectAccepted(w, ['fetch', img], uids.ed);
    expect(fs.readFileSync(systemFile, 'utf8')).toBe(armored);
  });

  it('a mask for another prefix does not hide the system key', async () => {
    const w = world();
    const img = placeImage(w, busybox);
    gpg.sign(img, fpr.ed);
    writeKeyFile(w.systemConfig, 'example.com/capsule', lower(fpr.ed), gpg.gpg(['--armor', '--export', fpr.ed]));
    writeKeyFile(w.localConfig, 'example.com/other', lower(fpr.ed), '');
    await expectAccepted(w, ['fetch', img], uids.ed);
  });
});

describe('where the signature comes from', () => {
  it('--insecure-options=image accepts an unsigned image and says so', async () => {
    const w = world();
    const img = placeImage(w, busybox);
    const r = await w.run(['--insecure-options=image', 'fetch', img]);
    expect(errorLines(r)).toEqual(['fetch: warning: image signature verification has been disabled']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sha512-[0-9a-f]{32}\n$/);
    const list = JSON.parse((await w.run(['image', 'list', '--format', 'json'])).stdout) as { name: string }[];
    expect(list.map((i) => i.name)).toEqual(['example.com/capsule/busybox:1.35.0']);
  });

  it('--signature F reads the signature from F, wherever it is', async () => {
    const w = world();
    const img = placeImage(w, busybox);
    const elsewhere = path.join(w.base, 'sigs', 'busybox.sig.asc');
    fs.mkdirSync(path.dirname(elsewhere));
    gpg.sign(img, fpr.ed, { out: elsewhere });
    expect(fs.existsSync(`${img}.asc`)).toBe(false);
    await trustKey(w, ['--prefix', 'example.com/capsule'], gpg.exportPublic(fpr.ed, path.join(w.base, 'ed.pub')));
    await expectAccepted(w, ['fetch', `--signature=${elsewhere}`, img], uids.ed);
  });

  it('--signature F that does not exist fails, even with a valid IMAGE.asc beside the image', async () => {
    const w = world();
    const img = placeImage(w, busybox);
    gpg.sign(img, fpr.ed);
    await trustKey(w, ['--prefix', 'example.com/capsule'], gpg.exportPublic(fpr.ed, path.join(w.base, 'ed.pub')));
    const missing = path.join(w.base, 'missing.asc');
    const line = await expectRejected(w, ['fetch', `--signature=${missing}`, img], /error opening signature file/);
    expect(line).toContain(JSON.stringify(missing));
  });

  it('--signature F with the signature of another image fails, even with a valid IMAGE.asc beside it', async () => {
    const w = world();
    const img = placeImage(w, busybox);
    gpg.sign(img, fpr.ed);
    const other = placeImage(w, simpleAci('example.com/capsule/other'), 'other.aci');
    const otherSig = gpg.sign(other, fpr.ed);
    await trustKey(w, ['--prefix', 'example.com/capsule'], gpg.exportPublic(fpr.ed, path.join(w.base, 'ed.pub')));
    await expectRejected(w, ['fetch', `--signature=${otherSig}`, img], /did not match/);
    // The same image with its own signature is fine: the failure was the signature, not the setup.
    await expectNothingStored(w);
    await expectAccepted(w, ['fetch', img], uids.ed);
  });
});

describe('--signature: one file per flag, in rkt\'s spelling and before the images', () => {
  /** Two images, each signed into a file that is not IMAGE.asc, and the key trusted. */
  async function twoSigned(): Promise<{ w: World; a: string; b: string; sa: string; sb: string }> {
    const w = world();
    const a = placeImage(w, busybox, 'a.aci');
    const b = placeImage(w, simpleAci('example.com/capsule/other'), 'b.aci');
    const sa = gpg.sign(a, fpr.ed, { out: path.join(w.base, 'sig-a') });
    const sb = gpg.sign(b, fpr.ed, { out: path.join(w.base, 'sig-b') });
    await trustKey(w, ['--prefix', 'example.com/capsule'], gpg.exportPublic(fpr.ed, path.join(w.base, 'ed.pub')));
    return { w, a, b, sa, sb };
  }
  const ids = (stdout: string): string[] => stdout.trim().split('\n');

  it('fetch --signature F IMAGE: the flag does not swallow the image', async () => {
    const { w, a, sa } = await twoSigned();
    const r = await w.run(['fetch', '--signature', sa, a]);
    expect(r.code, r.stderr).toBe(0);
    expect(ids(r.stdout)).toHaveLength(1);
  });

  it("rkt's: fetch A --signature FA B --signature FB", async () => {
    const { w, a, b, sa, sb } = await twoSigned();
    const r = await w.run(['fetch', a, '--signature', sa, b, '--signature', sb]);
    expect(r.code, r.stderr).toBe(0);
    expect(ids(r.stdout)).toHaveLength(2);
  });

  it('fetch --signature FA --signature FB A B: one per image, in order', async () => {
    const { w, a, b, sa, sb } = await twoSigned();
    const r = await w.run(['fetch', '--signature', sa, '--signature', sb, a, b]);
    expect(r.code, r.stderr).toBe(0);
    expect(ids(r.stdout)).toHaveLength(2);
    // In the wrong order each signature is over the other image: refused, nothing stored.
    const v = await twoSigned();
    await expectRejected(v.w, ['fetch', '--signature', v.sb, '--signature', v.sa, v.a, v.b], /did not match/);
  });

  it('a count that does not match the images is refused before anything is fetched', async () => {
    const { w, a, b, sa } = await twoSigned();
    const r = await w.run(['fetch', '--signature', sa, a, b]);
    expect(r.code).toBe(254);
    expect(errorLines(r)).toEqual(['fetch: --signature given 1 time(s) before 2 image(s): give one per image, in order, or each one after its image']);
    await expectNothingStored(w);
  });
});
