/**
 * The interactive fingerprint review of `capsule trust`. It needs stdin and stderr to be a TTY,
 * so the real CLI runs under util-linux `script`, which gives it a pseudo-terminal and types our
 * input into it. Output comes back through the same terminal (stdout and stderr merged, CRLF).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CAPSULE, makeWorld, type World } from '../helpers/cli.js';
import { makeGpgHome, type GpgHome } from '../helpers/gpg.js';
import { onPty } from '../helpers/pty.js';
import { lower } from './verify-fixtures.js';

/** Without util-linux `script` there is no honest way to give the CLI a terminal: the tests are skipped. */
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout?.includes('util-linux') === true;

let gpg: GpgHome;
const UID = 'Reviewed Signer <reviewed@example.com>';
let fpr = '';
const worlds: World[] = [];

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `capsule trust …` on a pseudo-terminal with `input` typed in; returns exit code and the terminal's text. */
function onTerminal(w: World, args: string[], input: string): { code: number | null; text: string } {
  const cmd = [CAPSULE, ...w.flags, ...args].map(shellQuote).join(' ');
  const r = spawnSync('script', ['--quiet', '--return', '--command', cmd, '/dev/null'], {
    input,
    encoding: 'utf8',
    env: { ...process.env, SHELL: '/bin/sh' },
    timeout: 60_000,
  });
  return { code: r.status, text: r.stdout.replace(/\r\n/g, '\n') };
}

beforeAll(() => {
  gpg = makeGpgHome();
  fpr = gpg.genKey(UID);
});

afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});

afterAll(() => gpg.cleanup());

describe.skipIf(!hasScript)('fingerprint review on a terminal', () => {
  function setup(): { w: World; pub: string; stored: string } {
    const w = makeWorld('capsule-review-');
    worlds.push(w);
    const pub = gpg.exportPublic(fpr, path.join(w.base, 'key.pub'));
    return { w, pub, stored: path.join(w.localConfig, 'trustedkeys', 'prefix.d', 'example.com', 'capsule', lower(fpr)) };
  }

  it('shows the fingerprint, asks, and trusts the key after "yes"', () => {
    const { w, pub, stored } = setup();
    const r = onTerminal(w, ['trust', '--prefix', 'example.com/capsule', pub], 'yes\n');
    expect(r.text).toMatch(/gpg key fingerprint is: ([0-9A-F]{4} ){4}[0-9A-F]{4} {2}([0-9A-F]{4} ){4}[0-9A-F]{4}\n/);
    expect(r.text).toContain(`\t${UID}\n`);
    expect(r.text).toContain('Are you sure you want to trust this key (yes/no)?');
    expect(r.text).toContain(`Trusting ${JSON.stringify(pub)} for prefix "example.com/capsule" after fingerprint review.`);
    expect(r.text).toContain(`Added key for prefix "example.com/capsule" at ${JSON.stringify(stored)}`);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(stored, 'utf8')).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
  });

  it('asks again after "maybe" and does not trust the key after "no"', () => {
    const { w, pub, stored } = setup();
    const r = onTerminal(w, ['trust', '--prefix', 'example.com/capsule', pub], 'maybe\nno\n');
    expect(r.text.match(/Are you sure you want to trust this key \(yes\/no\)\?/g)).toHaveLength(2);
    expect(r.text).toContain("Please enter 'yes' or 'no'");
    expect(r.text).toContain(`not trusting ${JSON.stringify(pub)}`);
    expect(r.text).not.toContain('Added key');
    expect(r.code).toBe(0);
    expect(fs.existsSync(stored)).toBe(false);
    expect(fs.existsSync(path.join(w.localConfig, 'trustedkeys'))).toBe(false);
  });

  it('does not take "y" or "YES" for yes', () => {
    const { w, pub, stored } = setup();
    const r = onTerminal(w, ['trust', '--prefix', 'example.com/capsule', pub], 'y\nYES\nno\n');
    expect(r.text.match(/Please enter 'yes' or 'no'/g)).toHaveLength(2);
    expect(r.text).toContain(`not trusting ${JSON.stringify(pub)}`);
    expect(fs.existsSync(stored)).toBe(false);
  });
});

describe('the review ends the command at once: no reading the terminal until ^D', () => {
  function setup(): { w: World; pub: string } {
    const w = makeWorld('capsule-pc-review-');
    worlds.push(w);
    return { w, pub: gpg.exportPublic(fpr, path.join(w.base, 'key.pub')) };
  }
  const prompt = 'Are you sure you want to trust this key (yes/no)?';
  for (const [answer, outcome] of [
    ['yes\n', 'Added key for prefix'],
    ['no\n', 'not trusting'],
    ['maybe\nyes\n', 'Added key for prefix'],
    ['maybe\nno\n', 'not trusting'],
  ] as const) {
    it(`after ${JSON.stringify(answer)} the command exits without end of input`, async () => {
      const { w, pub } = setup();
      const r = await onPty([CAPSULE, ...w.flags, 'trust', '--prefix', 'example.com/capsule', pub], { input: answer, waitFor: prompt });
      expect(r.hung, r.text).toBe(false);
      expect(r.code, r.text).toBe(0);
      expect(r.text).toContain(outcome);
    });
  }
});
