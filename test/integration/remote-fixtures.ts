/** Shared fixtures for the remote fetch tests: signed images, worlds that trust the test CA, checks. */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { errorLines, makeWorld, type RunResult, type World } from '../helpers/cli.js';
import type { GpgHome } from '../helpers/gpg.js';
import { serveFile, type FileOptions, type TestServer } from '../helpers/https-server.js';
import { simpleAci, type RawEntry } from '../helpers/images.js';
import { bareName, expectedId, key64, listJson, storeFiles } from '../helpers/store-check.js';
import type { TestCa } from '../helpers/test-ca.js';
import { writeKeyFile } from './verify-fixtures.js';

export const SIGNER_UID = 'Remote Signer <remote@example.com>';

/** An image with its detached signature, as a server would hold them. */
export interface SignedImage {
  name: string;
  aci: Buffer;
  asc: Buffer;
  /** Full `sha512-<128 hex>` ID. */
  id: string;
  /** What `capsule fetch` prints (32 hex). */
  short: string;
}

/** Signs `aci` with `who` in a scratch file under `dir`; returns the armored signature. */
export function signBytes(gpg: GpgHome, dir: string, aci: Buffer, who: string): Buffer {
  const file = path.join(dir, `sign-${process.hrtime.bigint()}.aci`);
  fs.writeFileSync(file, aci);
  const asc = fs.readFileSync(gpg.sign(file, who));
  fs.rmSync(file);
  fs.rmSync(`${file}.asc`);
  return asc;
}

export function signedImage(gpg: GpgHome, dir: string, who: string, name: string, entries: RawEntry[] = [], extra: Record<string, unknown> = {}): SignedImage {
  const aci = simpleAci(name, entries, extra);
  const id = expectedId(aci);
  return { name, aci, asc: signBytes(gpg, dir, aci, who), id, short: id.slice(0, 'sha512-'.length + 32) };
}

/** Routes `path` to the image and `path.asc` to its signature. */
export function serveImage(server: TestServer, p: string, img: SignedImage, o: FileOptions = {}): string {
  server.route(p, serveFile(img.aci, o));
  server.route(`${p}.asc`, serveFile(img.asc));
  return server.url(p);
}

export interface WorldOptions {
  /** Put the test CA in `<local-config>/tls.d/ca.pem` (default true). */
  trustCa?: boolean;
  /** Trust the signer's key for this prefix (default `example.com`); null for none. */
  trustPrefix?: string | null;
}

/** A world that trusts the test CA (via tls.d) and the signing key (for `example.com` by default). */
export function remoteWorld(ca: TestCa, gpg: GpgHome, fpr: string, o: WorldOptions = {}): World {
  const w = makeWorld('capsule-remote-');
  if (o.trustCa !== false) {
    fs.mkdirSync(path.join(w.localConfig, 'tls.d'), { recursive: true });
    fs.copyFileSync(ca.ca.certFile, path.join(w.localConfig, 'tls.d', 'ca.pem'));
  }
  const prefix = o.trustPrefix === undefined ? 'example.com' : o.trustPrefix;
  if (prefix !== null) writeKeyFile(w.localConfig, prefix, fpr.toLowerCase(), gpg.gpg(['--armor', '--export', fpr]));
  return w;
}

/** Partial downloads kept in cas/tmp for resuming. */
export function partials(w: World): string[] {
  return storeFiles(w.dir).tmp.filter((n) => n.endsWith('.part'));
}

/** Nothing visible in the store: no image listed, no blob, no tree. */
export async function expectNothingStored(w: World): Promise<void> {
  expect(await listJson(w)).toEqual([]);
  const f = storeFiles(w.dir);
  expect(f.blobs).toEqual([]);
  expect(f.trees).toEqual([]);
}

/**
 * The failure rule: exit 254, nothing on stdout, exactly one stderr line (`fetch: …`) matching
 * `problem`, nothing stored, and (unless `partialOk`) no partial download left behind.
 */
export async function expectFetchFailed(w: World, r: RunResult, problem: RegExp, o: { partialOk?: boolean } = {}): Promise<string> {
  const lines = errorLines(r);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^fetch: /);
  expect(lines[0]).toMatch(problem);
  expect(r.stdout).toBe('');
  expect(r.code).toBe(254);
  await expectNothingStored(w);
  if (!o.partialOk) expect(partials(w)).toEqual([]);
  return lines[0]!;
}

/** Success: exit 0, the image's ID printed, the signer named, the image listed. */
export async function expectFetched(w: World, r: RunResult, img: SignedImage): Promise<void> {
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe(`${img.short}\n`);
  expect(r.stderr).toContain(`image: signature verified:\n  ${SIGNER_UID}\n`);
  const listed = await listJson(w);
  expect(listed.map((i) => [i.id, bareName(i.name)])).toContainEqual([key64(img.id), img.name]);
  expect(storeFiles(w.dir).blobs.map((b) => b.name)).toContain(img.id);
}
