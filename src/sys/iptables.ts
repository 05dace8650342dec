import { spawn } from 'node:child_process';
import { CapsuleError } from '../errors/capsule-error.js';

export const IPTABLES = '/usr/sbin/iptables';
export const IPTABLES_RESTORE = '/usr/sbin/iptables-restore';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function runTool(file: string, args: string[], stdin: string | null): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: [stdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CapsuleError('iptables', `could not run ${file}`, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr: stderr.trim() });
    });
    if (stdin !== null) {
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(stdin);
    }
  });
}

/** `iptables -w ARGS`: its exit status (for `-C`: 0 when the rule exists, 1 when not). */
export async function iptablesStatus(args: string[]): Promise<number> {
  return (await runTool(IPTABLES, ['-w', ...args], null)).code;
}

/** `iptables -w ARGS`, failing with its message. */
export async function iptables(args: string[]): Promise<void> {
  const r = await runTool(IPTABLES, ['-w', ...args], null);
  if (r.code !== 0) throw new CapsuleError('iptables', `iptables ${args.join(' ')}: ${r.stderr || `exit status ${r.code}`}`);
}

/** `iptables -w -t TABLE -S`: the table's chains (`-N …`) and rules (`-A …`), one per line. */
export async function iptablesRules(table: string): Promise<string> {
  const r = await runTool(IPTABLES, ['-w', '-t', table, '-S'], null);
  if (r.code !== 0) throw new CapsuleError('iptables', `iptables -t ${table} -S: ${r.stderr || `exit status ${r.code}`}`);
  return r.stdout;
}

/** `iptables-restore -w --noflush` of `input` (one transaction), failing with its message. */
export async function iptablesRestore(input: string): Promise<void> {
  const r = await runTool(IPTABLES_RESTORE, ['-w', '--noflush'], input);
  if (r.code !== 0) throw new CapsuleError('iptables', `iptables-restore: ${r.stderr.split('\n').at(-1) ?? ''}`);
}
