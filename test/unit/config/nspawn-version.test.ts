import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findNspawn, NSPAWN_CANDIDATES } from '../../../src/sys/nspawn-version.js';

describe('findNspawn', () => {
  it('reports nothing when no systemd-nspawn exists', async () => {
    expect(await findNspawn(['/nonexistent/systemd-nspawn'])).toBeUndefined();
  });

  it('agrees with `systemd-nspawn --version` on this host', async (ctx) => {
    const nspawn = NSPAWN_CANDIDATES.find((c) => fs.existsSync(c));
    if (!nspawn) {
      ctx.skip('systemd-nspawn is not installed (apt-get install systemd-container)');
      return;
    }
    const real = /systemd\s+(\d+)/.exec(execFileSync(nspawn, ['--version'], { encoding: 'utf8' }))?.[1];
    expect((await findNspawn())?.version).toBe(real);
  });

  it('falls back to asking the binary when no shared library name is found', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-nspawn-'));
    const fake = path.join(dir, 'systemd-nspawn');
    fs.writeFileSync(fake, '#!/bin/sh\necho "systemd 999 (999.1)"\n', { mode: 0o755 });
    try {
      expect(await findNspawn([fake], [path.join(dir, 'nolib')])).toEqual({ path: fake, version: '999' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
