import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { CAPSULE, type RunResult } from './cli.js';

/**
 * A real unprivileged user (and optionally a group it belongs to) for permission tests, named
 * `capsule-<tag>-<random>` so parallel tests never share one; `remove()` deletes both.
 * useradd/groupadd take /etc/passwd's lock: retried while another test holds it.
 */
export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  /** The extra group the user is in, when asked for. */
  group: { name: string; gid: number } | undefined;
  run(args: string[], env?: Record<string, string>): Promise<RunResult>;
  remove(): void;
}

function retrying(cmd: string, args: string[]): void {
  for (let i = 0; ; i++) {
    try {
      execFileSync(cmd, args, { stdio: 'pipe' });
      return;
    } catch (e) {
      // Exit 10 is useradd/groupadd's "can't lock /etc/passwd or /etc/group".
      if (i >= 50 || (e as { status?: number }).status !== 10) throw e;
      execFileSync('sleep', ['0.1']);
    }
  }
}

const idOf = (flag: '-u' | '-g', name: string): number => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());

export function makeTestUser(tag: string, withGroup: boolean): TestUser {
  const name = `capsule-${tag}-${crypto.randomBytes(3).toString('hex')}`;
  let group: TestUser['group'];
  if (withGroup) {
    const g = `${name}-g`;
    retrying('groupadd', ['--system', g]);
    group = { name: g, gid: Number(execFileSync('getent', ['group', g], { encoding: 'utf8' }).split(':')[2]) };
  }
  retrying('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', ...(group ? ['--groups', group.name] : []), name]);
  const uid = idOf('-u', name);
  const gid = idOf('-g', name);
  return {
    name,
    uid,
    gid,
    group,
    run: (args, env) =>
      new Promise((resolve, reject) => {
        const c = spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', CAPSULE, ...args], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
          cwd: '/',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.on('error', reject);
        c.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      }),
    remove() {
      retrying('userdel', [name]);
      if (group) retrying('groupdel', [group.name]);
    },
  };
}
