import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A throwaway GnuPG home for making real keys and signatures in tests. */
export interface GpgHome {
  home: string;
  gpg(args: string[], input?: string): string;
  /** Makes a key; returns its fingerprint (40 hex, upper case as gpg prints it). */
  genKey(uid: string, algo?: string, usage?: string, expire?: string): string;
  exportPublic(uidOrFpr: string, file: string): string;
  /** Detached ASCII-armored signature of `file`, written to `file.asc` unless `out` is given. */
  sign(file: string, uidOrFpr: string, opts?: { digest?: string; out?: string }): string;
  cleanup(): void;
}

export function makeGpgHome(): GpgHome {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-gpg-'));
  fs.chmodSync(home, 0o700);
  const gpg = (args: string[], input?: string): string =>
    execFileSync('gpg', ['--homedir', home, '--batch', '--yes', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      input,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  const self: GpgHome = {
    home,
    gpg,
    genKey(uid, algo = 'ed25519', usage = 'sign', expire = 'never') {
      gpg(['--quick-gen-key', uid, algo, usage, expire]);
      const out = gpg(['--with-colons', '--fingerprint', uid]);
      const fpr = out.split('\n').find((l) => l.startsWith('fpr:'));
      if (!fpr) throw new Error(`gpg made no key for ${uid}`);
      return fpr.split(':')[9]!;
    },
    exportPublic(who, file) {
      fs.writeFileSync(file, gpg(['--armor', '--export', who]));
      return file;
    },
    sign(file, who, opts = {}) {
      const out = opts.out ?? `${file}.asc`;
      gpg(['--armor', '--local-user', who, ...(opts.digest ? ['--digest-algo', opts.digest] : []), '--output', out, '--detach-sign', file]);
      return out;
    },
    cleanup() {
      try {
        execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
      } catch {
        /* no agent running */
      }
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
  return self;
}
