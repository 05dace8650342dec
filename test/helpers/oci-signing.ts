import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { GpgHome } from './gpg.js';

const execFileP = promisify(execFile);

/** The manifest exactly as the registry serves it (`skopeo inspect --raw`). */
export async function rawManifest(ref: string): Promise<Buffer> {
  const { stdout } = await execFileP('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { encoding: 'buffer', maxBuffer: 16 << 20 });
  return stdout;
}

/** `skopeo standalone-sign MANIFEST REFERENCE FINGERPRINT -o OUT` with the test's GnuPG home. */
export async function standaloneSign(gpg: GpgHome, manifest: Buffer, reference: string, fingerprint: string, dir: string): Promise<Buffer> {
  fs.mkdirSync(dir, { recursive: true });
  const m = path.join(dir, `manifest-${process.hrtime.bigint()}.json`);
  const out = `${m}.sig`;
  fs.writeFileSync(m, manifest);
  await execFileP('skopeo', ['standalone-sign', m, reference, fingerprint, '-o', out], { env: { ...process.env, GNUPGHOME: gpg.home } });
  return fs.readFileSync(out);
}

/** A claim signed as an OpenPGP signed message by gpg itself (for claims skopeo would never write). */
export function gpgSignPayload(gpg: GpgHome, payload: string, who: string, mode: '--sign' | '--detach-sign' | '--clear-sign' | '--store' = '--sign'): Buffer {
  return execFileSync('gpg', ['--homedir', gpg.home, '--batch', '--yes', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...(mode === '--store' ? [] : ['--local-user', who]), mode, '--output', '-'], { input: payload, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A claim in containers' format, with fields to add or replace. */
export function claim(reference: string, digest: string, critical: Record<string, unknown> = {}): string {
  return JSON.stringify({ critical: { type: 'atomic container signature', image: { 'docker-manifest-digest': digest }, identity: { 'docker-reference': reference }, ...critical }, optional: { creator: 'capsule test' } });
}

/** Puts signatures where a `file://` lookaside store keeps them: `<base>/<repository>@sha256=<hex>/signature-N`. */
export function putLookaside(base: string, repository: string, digest: string, sigs: Buffer[]): void {
  const dir = path.join(base, `${repository}@${digest.replace(':', '=')}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  sigs.forEach((s, i) => fs.writeFileSync(path.join(dir, `signature-${i + 1}`), s));
}

/** `<config>/registries.d/NAME.yaml` pointing `scope` at `lookaside`. */
export function writeRegistriesD(configDir: string, scope: string, lookaside: string, name = 'capsule-test.yaml'): string {
  const dir = path.join(configDir, 'registries.d');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), `docker:\n  ${scope}:\n    lookaside: ${lookaside}\n`);
  return dir;
}
