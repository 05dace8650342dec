import fs from 'node:fs';
import { CapsuleError } from '../errors/capsule-error.js';
import type { Handover } from '../stage1/contract.js';

/** One shell word, single-quoted: nothing inside is expanded. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The snippet bin/capsule sources: it enters the pod dir and execs stage1, which removes the
 * snippet's file (CAPSULE_HANDOVER_DONE) first thing, so no rm(1) runs on the way.
 */
export function handoverScript(h: Handover, self: string): string {
  const lines = [`cd -- ${shellQuote(h.cwd)} || exit 254`, `export CAPSULE_HANDOVER_DONE=${shellQuote(self)}`];
  for (const [k, v] of Object.entries(h.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new CapsuleError('handover', `bad environment name ${JSON.stringify(k)}`);
    lines.push(`export ${k}=${shellQuote(v)}`);
  }
  lines.push(`exec ${h.argv.map(shellQuote).join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** Writes the handover for the wrapper (CAPSULE_HANDOVER); the Node process then exits 0. */
export function writeHandover(h: Handover, env: NodeJS.ProcessEnv = process.env): void {
  const file = env.CAPSULE_HANDOVER;
  if (!file) throw new CapsuleError('handover', 'this command must be started through bin/capsule (CAPSULE_HANDOVER is not set)');
  fs.writeFileSync(file, handoverScript(h, file), { mode: 0o600 });
}
