/**
 * `capsule run docker://…` end to end against Debian's docker-registry (TLS with the test CA):
 * an unsigned image with --insecure-options=image, a signed one (skopeo standalone-sign, a
 * registries.d lookaside, capsule trust --prefix), run after `fetch` and run fetching the image
 * itself; the app's output and exit code come back; an unsigned image is refused by run too.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { busyboxEntries, OciLayoutWriter, type BuiltImage } from '../helpers/oci-layout.js';
import { putLookaside, rawManifest, standaloneSign, writeRegistriesD } from '../helpers/oci-signing.js';
import { makePodWorld, podSkipReason, type PodWorld } from '../helpers/pods.js';
import { skopeoPush, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { testCa, type TestCa } from '../helpers/test-ca.js';

const skip = podSkipReason();
if (skip) process.stderr.write(`skipping run-registry tests: ${skip}\n`);

describe.skipIf(skip !== null)('capsule run docker://', () => {
  let ca: TestCa;
  let gpg: GpgHome;
  let fpr: string;
  let tmp: string;
  let reg: TestRegistry;
  let app: BuiltImage;
  const worlds: PodWorld[] = [];

  async function world(): Promise<PodWorld> {
    const w = await makePodWorld('capsule-oc-runreg-');
    worlds.push(w);
    fs.mkdirSync(path.join(w.localConfig, 'tls.d'), { recursive: true });
    fs.copyFileSync(ca.ca.certFile, path.join(w.localConfig, 'tls.d', 'ca.pem'));
    return w;
  }

  beforeAll(async () => {
    ca = testCa();
    gpg = makeGpgHome();
    fpr = gpg.genKey('Capsule Run Signer <run-signer@example.com>');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-oc-runreg-'));
    const layout = new OciLayoutWriter(path.join(tmp, 'layout'));
    const base = layout.layer({ entries: busyboxEntries() });
    const top = layout.layer({ entries: [{ path: 'app/', type: 'Directory' }, { path: 'app/msg', body: 'hello from the registry\n' }] });
    app = layout.image({ layers: [], config: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['cat /app/msg; exit 3'], Env: ['PATH=/bin'] } }, [base, top]);
    layout.tag('v1', app.manifest);
    reg = await startRegistry({ tls: ca });
    await skopeoPush(`oci:${layout.dir}:v1`, `${reg.host}/team/runme:v1`);
  }, 120_000);

  afterAll(async () => {
    for (const w of worlds) await w.teardown();
    await reg?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
    gpg?.cleanup();
    ca?.cleanup();
  });

  it('fetch, then run by the same reference: the app’s output and exit code come back', async () => {
    const w = await world();
    const f = await w.run(['--insecure-options=image', 'fetch', `docker://${reg.host}/team/runme:v1`]);
    expect(f.code, f.stderr).toBe(0);
    const r = await w.run(['--insecure-options=image', 'run', '--net=none', `docker://${reg.host}/team/runme:v1`]);
    expect(r.stderr).not.toContain('missing');
    expect(r.stdout).toBe('hello from the registry\n');
    expect(r.code, r.stderr).toBe(3);
    // run also takes the stored name and the printed ID.
    const byId = await w.run(['--insecure-options=image', 'run', '--net=none', f.stdout.trim(), '--', 'echo by id']);
    expect(byId.code, byId.stderr).toBe(0);
    expect(byId.stdout).toBe('by id\n');
  }, 120_000);

  it('run fetches an unsigned image itself with --insecure-options=image', async () => {
    const w = await world();
    const r = await w.run(['--insecure-options=image', 'run', '--net=none', `docker://${reg.host}/team/runme:v1`]);
    expect(r.stdout).toBe('hello from the registry\n');
    expect(r.code, r.stderr).toBe(3);
    expect((await w.run(['image', 'list', '--no-legend'])).stdout).toContain(`${reg.host}/team/runme:v1`);
  }, 120_000);

  it('run fetches a signed image itself (trusted signer for the prefix) and runs it', async () => {
    const w = await world();
    const manifest = await rawManifest(`${reg.host}/team/runme:v1`);
    const store = path.join(w.base, 'sigs');
    putLookaside(store, 'team/runme', app.manifest.digest, [await standaloneSign(gpg, manifest, `${reg.host}/team/runme:v1`, fpr, w.base)]);
    writeRegistriesD(w.localConfig, reg.host, pathToFileURL(store).toString());
    const t = await w.run(['trust', '--skip-fingerprint-review', '--prefix', `${reg.host}/team`, gpg.exportPublic(fpr, path.join(w.base, 'k.asc'))]);
    expect(t.code, t.stderr).toBe(0);
    const r = await w.run(['run', '--net=none', `docker://${reg.host}/team/runme:v1`, '--', 'cat /app/msg']);
    expect(r.stderr).toContain('Capsule Run Signer <run-signer@example.com>');
    expect(r.stdout).toBe('hello from the registry\n');
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('run refuses an unsigned image without --insecure-options=image and starts no pod', async () => {
    const w = await world();
    const before = w.pods().length;
    const r = await w.run(['run', '--net=none', `docker://${reg.host}/team/runme:v1`]);
    expect(r.code).toBe(254);
    expect(r.stdout).toBe('');
    expect(errorLines(r)).toHaveLength(1);
    expect(errorLines(r)[0]).toMatch(/^run: .*the image is not signed/);
    expect(w.pods().length).toBe(before);
  }, 120_000);
});
