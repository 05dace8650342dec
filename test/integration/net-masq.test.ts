import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSharedMasq } from '../../src/net/ensure-masq.js';
import { masqRemoveCommands, type SharedMasq } from '../../src/net/shared-masq.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !fs.existsSync('/usr/sbin/iptables-restore') ? 'needs iptables (apt-get install iptables)' : null;
if (skip) process.stderr.write(`skipping net-masq tests: ${skip}\n`);

const tag = crypto.randomBytes(3).toString('hex');
// A chain and subnet of this test's own (never the real default net's), so pods of other tests
// keep their masquerade while this one makes and removes its rules.
const m: SharedMasq = { chain: `CAPSULE-T-nt4-${tag}`, subnet: `10.238.${parseInt(tag.slice(0, 2), 16)}.0/24`, comment: `capsule test nt4 ${tag}` };
const ours = (): string[] => execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(m.chain));

describe.skipIf(skip !== null)('the shared masquerade rules on the host (real iptables)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-net-masq-'));
  afterAll(() => {
    for (const c of masqRemoveCommands(m)) {
      try {
        execFileSync('iptables', ['-w', ...c], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('first pods racing make them exactly once; later calls find them; the documented commands remove them', async () => {
    expect(ours()).toEqual([]);
    const lock = path.join(dir, 'lock', 'masq.lock');
    await Promise.all([1, 2, 3, 4].map(() => ensureSharedMasq(m, lock)));
    await ensureSharedMasq(m, lock);
    expect(ours().sort()).toEqual(
      [
        `:${m.chain} - [0:0]`,
        `-A ${m.chain} ! -d 224.0.0.0/4 -j MASQUERADE`,
        `-A ${m.chain} -d ${m.subnet} -j ACCEPT`,
        `-A POSTROUTING -s ${m.subnet} -m comment --comment "${m.comment}" -j ${m.chain}`,
      ].sort(),
    );
    for (const c of masqRemoveCommands(m)) execFileSync('iptables', ['-w', ...c]);
    expect(ours()).toEqual([]);
  });

  it('a chain left without its jump (the jump deleted by hand) is flushed and remade, not doubled', async () => {
    execFileSync('iptables', ['-w', '-t', 'nat', '-N', m.chain]);
    execFileSync('iptables', ['-w', '-t', 'nat', '-A', m.chain, '-d', m.subnet, '-j', 'ACCEPT']);
    await ensureSharedMasq(m, path.join(dir, 'masq2.lock'));
    expect(ours().filter((l) => l.startsWith(`-A ${m.chain} `))).toHaveLength(2);
    expect(ours().filter((l) => l.startsWith('-A POSTROUTING '))).toHaveLength(1);
  });
});
