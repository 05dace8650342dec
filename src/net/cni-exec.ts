import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';
import { errorLine, parseError } from './cni-result.js';
import type { CniCommand } from './cni-invoke.js';

/** Seconds a plugin may take before it is killed (SIGKILL) and the call fails. */
export const PLUGIN_TIMEOUT_MS = 60_000;

/** The plugin binary `type` in the first directory of `dirs` that has it (CNI_PATH order). */
export function findPlugin(type: string, dirs: readonly string[]): string | null {
  for (const d of dirs) {
    const p = path.join(d, type);
    try {
      const st = fs.statSync(p);
      if (st.isFile() && (st.mode & 0o111) !== 0) return p;
    } catch {
      // next directory
    }
  }
  return null;
}

export interface PluginCall {
  net: string;
  type: string;
  command: CniCommand;
  binary: string;
  env: Record<string, string>;
  stdin: string;
  timeoutMs?: number;
}

/**
 * Runs one plugin: stdin = the config, env = exactly `env`, stdout collected. Fails with one line
 * naming the net and the plugin, carrying the plugin's error JSON (`msg`, `details`, `code`) or,
 * when it printed none, its last line of stderr.
 */
export function execPlugin(c: PluginCall): Promise<string> {
  const where = `network ${JSON.stringify(c.net)}: plugin ${JSON.stringify(c.type)} (${c.command})`;
  return new Promise((resolve, reject) => {
    const child = spawn(c.binary, [], { env: c.env, stdio: ['pipe', 'pipe', 'pipe'], cwd: '/' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, c.timeoutMs ?? PLUGIN_TIMEOUT_MS);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CapsuleError('cni-plugin', `${where}: could not start ${c.binary}`, { cause: e }));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) return resolve(stdout);
      const j = parseError(stdout);
      const stderrLine = Buffer.concat(err).toString('utf8').trim().split('\n').at(-1) ?? '';
      const why = timedOut ? `timed out after ${Math.round((c.timeoutMs ?? PLUGIN_TIMEOUT_MS) / 1000)} s` : j ? errorLine(j) : stderrLine !== '' ? stderrLine : sig ? `killed by ${sig}` : `exit status ${code ?? '?'}`;
      reject(new CapsuleError('cni-plugin', `${where} failed: ${why}`));
    });
    child.stdin.end(c.stdin);
  });
}
